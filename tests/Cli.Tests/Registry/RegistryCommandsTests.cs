using Berth.Cli.Common;
using Berth.Cli.Configuration;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.Registry;

/// <summary>The registry commands against a real registry process with auth on.</summary>
public sealed class RegistryCommandsTests(RegistryFixture registry, ITestOutputHelper output) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly CliRunner _cli = new(output);

    private async Task LoginAsync() =>
        (await _cli.RunAsync("--registry", registry.Url, "login", "--username", "admin", "--password-file", registry.PasswordFile)).EnsureSuccess();

    [Fact]
    public async Task Login_ChecksThePasswordAgainstTheRegistry()
    {
        var wrong = Path.Combine(_cli.Home, "wrong");
        await File.WriteAllTextAsync(wrong, "not-the-password");

        var refused = await _cli.RunAsync("--registry", registry.Url, "login", "--username", "admin", "--password-file", wrong);
        await LoginAsync();

        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("did not accept your credentials", refused.Error, StringComparison.Ordinal);
        Assert.Equal(("admin", registry.AdminPassword), (CliConfig.Load(_cli.Home).RegistryUsername, CliConfig.Load(_cli.Home).RegistryPassword));
    }

    [Fact]
    public async Task Robots_CreateShowsTheSecretOnce_ItWorksForLogin_RotateAndDelete()
    {
        await LoginAsync();
        var name = "ci-" + Guid.NewGuid().ToString("N")[..6];

        var created = (await _cli.RunAsync("-o", "json", "registry", "robots", "create", name, "--description", "ci pushes", "--permission", "team-a/*=pull,push")).EnsureSuccess().Json;
        var listed = (await _cli.RunAsync("-o", "json", "registry", "robots", "list")).EnsureSuccess().Json.AsArray();
        var robot = new CliRunner(output);
        robot.Variables["BERTH_REGISTRY"] = registry.Url;
        robot.Variables["BERTH_REGISTRY_USERNAME"] = $"robot${name}";
        robot.Variables["BERTH_REGISTRY_PASSWORD"] = (string)created["secret"]!;
        var robotSees = await robot.RunAsync("registry", "repos");
        var rotated = (await _cli.RunAsync("-o", "json", "registry", "robots", "rotate", name)).EnsureSuccess().Json;
        var oldSecret = await robot.RunAsync("registry", "repos");
        (await _cli.RunAsync("registry", "robots", "delete", name)).EnsureSuccess();
        var afterDelete = (await _cli.RunAsync("-o", "json", "registry", "robots", "list")).EnsureSuccess().Json.AsArray();
        robot.Dispose();

        Assert.Equal($"robot${name}", (string?)created["name"]);
        Assert.Contains(listed, r => (string?)r!["name"] == $"robot${name}" && (string?)r["description"] == "ci pushes");
        robotSees.EnsureSuccess();
        Assert.NotEqual((string?)created["secret"], (string?)rotated["secret"]);
        Assert.Equal(ExitCodes.Failure, oldSecret.ExitCode);
        Assert.DoesNotContain(afterDelete, r => (string?)r!["name"] == $"robot${name}");
    }

    [Fact]
    public async Task PublicNamespaces_AddListRemove()
    {
        await LoginAsync();

        (await _cli.RunAsync("registry", "public", "add", "lib/*")).EnsureSuccess();
        var listed = (await _cli.RunAsync("-o", "json", "registry", "public", "list")).EnsureSuccess().Json.AsArray();
        (await _cli.RunAsync("registry", "public", "remove", "lib/*")).EnsureSuccess();
        var after = (await _cli.RunAsync("-o", "json", "registry", "public", "list")).EnsureSuccess().Json.AsArray();
        var bad = await _cli.RunAsync("registry", "public", "add", "../etc");

        Assert.Contains(listed, p => p!.ToJsonString().Contains("lib/*", StringComparison.Ordinal));
        Assert.DoesNotContain(after, p => p!.ToJsonString().Contains("lib/*", StringComparison.Ordinal));
        Assert.Equal(ExitCodes.Failure, bad.ExitCode);
        Assert.Contains("NAME_INVALID", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutLogin_TheRegistrySaysHowToLogIn()
    {
        var result = await _cli.RunAsync("--registry", registry.Url, "registry", "repos");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("berth login", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "System")]
    public async Task PushedImage_ShowsInReposAndTags_AndDeletingTheTagRemovesIt()
    {
        await LoginAsync();
        await TestImages.EnsureBusyboxAsync(log: output.WriteLine);
        var host = new Uri(registry.Url).Authority;
        var repository = "cli-" + Guid.NewGuid().ToString("N")[..6] + "/app";
        var docker = new Dictionary<string, string> { ["DOCKER_CONFIG"] = Path.Combine(_cli.Home, "docker") };
        (await ProcessRunner.RunAsync("docker", ["login", host, "-u", "admin", "--password-stdin"], standardInput: registry.AdminPassword, environment: docker, log: output.WriteLine)).EnsureSuccess("docker login");
        foreach (var tag in new[] { "1", "2" })
        {
            (await ProcessRunner.RunAsync("docker", ["tag", TestImages.Busybox, $"{host}/{repository}:{tag}"], log: output.WriteLine)).EnsureSuccess("docker tag");
            (await ProcessRunner.RunAsync("docker", ["push", $"{host}/{repository}:{tag}"], environment: docker, log: output.WriteLine)).EnsureSuccess("docker push");
        }

        var repos = (await _cli.RunAsync("-o", "json", "registry", "repos")).EnsureSuccess().Json.AsArray();
        var tags = (await _cli.RunAsync("-o", "json", "registry", "tags", $"{host}/{repository}")).EnsureSuccess().Json.AsArray();
        (await _cli.RunAsync("registry", "delete", $"{repository}:1")).EnsureSuccess();
        var after = (await _cli.RunAsync("-o", "json", "registry", "tags", repository)).EnsureSuccess().Json.AsArray();
        var missing = await _cli.RunAsync("registry", "tags", "nope/nothing");

        Assert.Contains(repos, r => (string?)r == repository);
        Assert.Equal(["1", "2"], tags.Select(t => (string?)t));
        Assert.Equal(["2"], after.Select(t => (string?)t));
        Assert.Equal(ExitCodes.Failure, missing.ExitCode);
    }

    [Fact]
    public async Task Repo_CreateDescribeUpdateImagesDelete()
    {
        await LoginAsync();
        var name = "cli-" + Guid.NewGuid().ToString("N")[..6] + "/repo";

        var created = (await _cli.RunAsync("-o", "json", "registry", "repo", "create", name, "--immutable", "--exclude", "latest", "--description", "the app")).EnsureSuccess().Json;
        var described = (await _cli.RunAsync("registry", "repo", "describe", name)).EnsureSuccess();
        var updated = (await _cli.RunAsync("-o", "json", "registry", "repo", "update", name, "--tag-mutability", "MUTABLE")).EnsureSuccess().Json;
        var images = (await _cli.RunAsync("-o", "json", "registry", "images", name)).EnsureSuccess().Json.AsArray();
        var duplicate = await _cli.RunAsync("registry", "repo", "create", name);
        (await _cli.RunAsync("registry", "repo", "delete", name)).EnsureSuccess();
        var gone = await _cli.RunAsync("registry", "repo", "describe", name);

        Assert.Equal("IMMUTABLE_WITH_EXCLUSION", (string?)created["imageTagMutability"]);
        Assert.Contains("IMMUTABLE_WITH_EXCLUSION except latest", described.Output, StringComparison.Ordinal);
        Assert.Equal(("MUTABLE", "the app"), ((string?)updated["imageTagMutability"], (string?)updated["description"]));
        Assert.Empty(images);
        Assert.Equal(ExitCodes.Failure, duplicate.ExitCode);
        Assert.Contains("RepositoryAlreadyExistsException", duplicate.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, gone.ExitCode);
        Assert.Contains("RepositoryNotFoundException", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lifecycle_PutGetPreviewRunRunsDelete_WithEcrsErrors()
    {
        await LoginAsync();
        var name = "cli-" + Guid.NewGuid().ToString("N")[..6] + "/lifecycle";
        (await _cli.RunAsync("registry", "repo", "create", name)).EnsureSuccess();
        var policy = Path.Combine(_cli.Home, "policy.json");
        const string Text = """
            {"rules": [{"rulePriority": 1, "description": "keep ten", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}, "action": {"type": "expire"}}]}
            """;
        await File.WriteAllTextAsync(policy, Text);
        var bad = Path.Combine(_cli.Home, "bad.json");
        await File.WriteAllTextAsync(bad, Text.Replace("\"any\"", "\"tagged\"", StringComparison.Ordinal));

        var put = (await _cli.RunAsync("-o", "json", "registry", "lifecycle", "put", name, policy)).EnsureSuccess().Json;
        var got = (await _cli.RunAsync("registry", "lifecycle", "get", name)).EnsureSuccess();
        var preview = (await _cli.RunAsync("registry", "lifecycle", "preview", name)).EnsureSuccess();
        var candidate = (await _cli.RunAsync("-o", "json", "registry", "lifecycle", "preview", name, policy)).EnsureSuccess().Json;
        var run = (await _cli.RunAsync("-o", "json", "registry", "lifecycle", "run", name)).EnsureSuccess().Json;
        var runs = (await _cli.RunAsync("-o", "json", "registry", "lifecycle", "runs", name)).EnsureSuccess().Json.AsArray();
        var refused = await _cli.RunAsync("registry", "lifecycle", "put", name, bad);
        (await _cli.RunAsync("registry", "lifecycle", "delete", name)).EnsureSuccess();
        var gone = await _cli.RunAsync("registry", "lifecycle", "get", name);

        Assert.Equal(Text, (string?)put["lifecyclePolicyText"]);
        Assert.Contains("last evaluated: never", got.Output, StringComparison.Ordinal);
        Assert.Contains("0 images would expire", preview.Output, StringComparison.Ordinal);
        Assert.Equal("COMPLETE", (string?)candidate["status"]);
        Assert.Equal((1, 0), ((int)run["repositoriesEvaluated"]!, (int)run["imagesExpired"]!));
        Assert.Contains(runs, r => (long)r!["id"]! == (long)run["id"]!);
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("InvalidParameterException", refused.Error, StringComparison.Ordinal);
        Assert.Contains("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.", refused.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, gone.ExitCode);
        Assert.Contains("LifecyclePolicyNotFoundException", gone.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}

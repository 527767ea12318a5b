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
    public async Task Robots_TablePrintsTimesAsEveryTable_TheHintNamesTheRobot_AndASecondDeletePointsAtTheRobots()
    {
        await LoginAsync();
        var name = "tbl-" + Guid.NewGuid().ToString("N")[..6];

        var created = (await _cli.RunAsync("registry", "robots", "create", name, "--expires-in", "720h")).EnsureSuccess();
        var table = (await _cli.RunAsync("registry", "robots", "list")).EnsureSuccess();
        (await _cli.RunAsync("registry", "robots", "delete", name)).EnsureSuccess();
        var again = await _cli.RunAsync("registry", "robots", "delete", name);

        Assert.Contains($"docker login -u 'robot${name}' --password-stdin", created.Output, StringComparison.Ordinal);
        Assert.Matches(@"Expires:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", created.Output);
        var row = table.Output.Split('\n').Single(l => l.StartsWith($"robot${name} ", StringComparison.Ordinal));
        Assert.Matches(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never$", row);
        Assert.Equal(ExitCodes.Failure, again.ExitCode);
        Assert.Contains("`berth registry robots list`", again.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("registry repos", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RobotsEnsure_CreatesOnce_WritesTheSecretOwnerOnly_AndReplacesALostSecret()
    {
        await LoginAsync();
        var name = "pull-" + Guid.NewGuid().ToString("N")[..6];
        var file = Path.Combine(_cli.Home, "secrets", "pull-secret");

        var first = (await _cli.RunAsync("registry", "robots", "ensure", name, "--permission", "*=pull", "--secret-file", file)).EnsureSuccess();
        var secret = (await File.ReadAllTextAsync(file)).Trim();
        var second = (await _cli.RunAsync("registry", "robots", "ensure", name, "--permission", "*=pull", "--secret-file", file)).EnsureSuccess();
        File.Delete(file);
        var third = (await _cli.RunAsync("registry", "robots", "ensure", name, "--permission", "*=pull", "--secret-file", file)).EnsureSuccess();
        var robot = new CliRunner(output);
        robot.Variables["BERTH_REGISTRY"] = registry.Url;
        robot.Variables["BERTH_REGISTRY_USERNAME"] = $"robot${name}";
        robot.Variables["BERTH_REGISTRY_PASSWORD"] = (await File.ReadAllTextAsync(file)).Trim();
        var works = await robot.RunAsync("registry", "repos");
        robot.Dispose();
        (await _cli.RunAsync("registry", "robots", "delete", name)).EnsureSuccess();

        Assert.Contains("created", first.Output, StringComparison.Ordinal);
        Assert.Contains("nothing to do", second.Output, StringComparison.Ordinal);
        Assert.Contains("new secret", third.Output, StringComparison.Ordinal);
        Assert.NotEqual(secret, (await File.ReadAllTextAsync(file)).Trim());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        works.EnsureSuccess();
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
        string[] references = [$"{host}/{repository}:1", $"{host}/{repository}:2"];
        List<System.Text.Json.Nodes.JsonNode?> repos, tags, after;
        CliResult missing;
        try
        {
            foreach (var reference in references)
            {
                (await ProcessRunner.RunAsync("docker", ["tag", TestImages.Busybox, reference], log: output.WriteLine)).EnsureSuccess("docker tag");
                (await ProcessRunner.RunAsync("docker", ["push", reference], environment: docker, log: output.WriteLine)).EnsureSuccess("docker push");
            }

            repos = [.. (await _cli.RunAsync("-o", "json", "registry", "repos")).EnsureSuccess().Json.AsArray()];
            tags = [.. (await _cli.RunAsync("-o", "json", "registry", "tags", $"{host}/{repository}")).EnsureSuccess().Json.AsArray()];
            (await _cli.RunAsync("registry", "delete", $"{repository}:1")).EnsureSuccess();
            after = [.. (await _cli.RunAsync("-o", "json", "registry", "tags", repository)).EnsureSuccess().Json.AsArray()];
            missing = await _cli.RunAsync("registry", "tags", "nope/nothing");
        }
        finally
        {
            // The tags are the test's; the busybox image under them stays for the other tests.
            await ProcessRunner.RunAsync("docker", ["rmi", .. references], log: output.WriteLine);
        }

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

    [Fact]
    public async Task CacheRules_CreateListDelete_WithEcrsErrors_AndThePasswordNeverShown()
    {
        await LoginAsync();
        var prefix = "cache-" + Guid.NewGuid().ToString("N")[..6];
        var secret = Path.Combine(_cli.Home, "upstream-password");
        await File.WriteAllTextAsync(secret, "upstream-s3cret");

        var created = (await _cli.RunAsync("-o", "json", "registry", "cache-rule", "create", prefix, "http://127.0.0.1:1", "--username", "robot$mirror", "--password-file", secret)).EnsureSuccess().Json;
        var table = (await _cli.RunAsync("registry", "cache-rule", "list")).EnsureSuccess();
        var one = (await _cli.RunAsync("-o", "json", "registry", "cache-rule", "list", prefix)).EnsureSuccess().Json;
        var again = await _cli.RunAsync("registry", "cache-rule", "create", prefix, "https://quay.io");
        var bad = await _cli.RunAsync("registry", "cache-rule", "create", "x", "https://quay.io");
        var noPassword = await _cli.RunAsync("registry", "cache-rule", "create", prefix + "-2", "https://quay.io", "--username", "someone");
        (await _cli.RunAsync("registry", "cache-rule", "delete", prefix)).EnsureSuccess();
        var gone = await _cli.RunAsync("registry", "cache-rule", "delete", prefix);

        Assert.Equal((prefix, "http://127.0.0.1:1", "robot$mirror"), ((string?)created["ecrRepositoryPrefix"], (string?)created["upstreamRegistryUrl"], (string?)created["username"]));
        Assert.Contains(prefix, table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream-s3cret", table.Output + one.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(prefix, (string?)Assert.Single(one["pullThroughCacheRules"]!.AsArray())!["ecrRepositoryPrefix"]);
        Assert.Equal(ExitCodes.Failure, again.ExitCode);
        Assert.Contains("PullThroughCacheRuleAlreadyExistsException", again.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, bad.ExitCode);
        Assert.Contains("InvalidParameterException", bad.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, noPassword.ExitCode);
        Assert.Equal(ExitCodes.Failure, gone.ExitCode);
        Assert.Contains("PullThroughCacheRuleNotFoundException", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotificationsStatus_ReachesTheAdminRoute_NextToTheRepositoryRoutes()
    {
        await LoginAsync();

        // The fixture's registry has no endpoint configured: an empty list, not a 404 from a route lost in the merge.
        var json = (await _cli.RunAsync("-o", "json", "registry", "notifications", "status")).EnsureSuccess().Json.AsArray();
        var table = (await _cli.RunAsync("registry", "notifications", "status")).EnsureSuccess();
        var repos = (await _cli.RunAsync("-o", "json", "registry", "repo", "list")).EnsureSuccess().Json;

        Assert.Empty(json);
        Assert.Contains("ENDPOINT", table.Output, StringComparison.Ordinal);
        Assert.NotNull(repos);
    }

    public void Dispose() => _cli.Dispose();
}

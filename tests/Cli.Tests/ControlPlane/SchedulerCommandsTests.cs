using Berth.Cli.Common;
using Berth.Cli.Configuration;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.ControlPlane;

/// <summary>The control-plane commands against a real scheduler process over gRPC.</summary>
public sealed class SchedulerCommandsTests(SchedulerFixture scheduler, ITestOutputHelper output) : IClassFixture<SchedulerFixture>, IDisposable
{
    private readonly CliRunner _cli = new(output);

    private async Task LoginAsync() =>
        (await _cli.RunAsync("--endpoint", scheduler.Url, "login", "--token-file", scheduler.TokenFile)).EnsureSuccess();

    [Fact]
    public async Task Login_WithTheAdminTokenFile_RemembersEndpointAndToken_SoLaterCommandsNeedNoFlags()
    {
        await LoginAsync();

        var config = CliConfig.Load(_cli.Home);
        Assert.Equal(new Uri(scheduler.Url), new Uri(config.Endpoint!));
        Assert.Equal((await File.ReadAllTextAsync(scheduler.TokenFile)).Trim(), config.Token);
        (await _cli.RunAsync("cluster", "create", "remembered")).EnsureSuccess();
    }

    [Fact]
    public async Task Login_WithAWrongToken_FailsSayingHowToLogIn_AndStoresNothing()
    {
        var result = await _cli.RunAsync("--endpoint", scheduler.Url, "login", "--token", "berth_admin_not-the-token");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("did not accept your credentials", result.Error, StringComparison.Ordinal);
        Assert.Contains("berth login", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(CliConfig.PathIn(_cli.Home)));
    }

    [Fact]
    public async Task TokenFromTheEnvironment_IsUsedWithoutLogin()
    {
        _cli.Variables["BERTH_ENDPOINT"] = scheduler.Url;
        _cli.Variables["BERTH_TOKEN"] = (await File.ReadAllTextAsync(scheduler.TokenFile)).Trim();

        var result = await _cli.RunAsync("-o", "json", "cluster", "create", "from-env");

        Assert.Equal("from-env", (string?)result.EnsureSuccess().Json.AsArray()[0]!["name"]);
    }

    [Fact]
    public async Task Clusters_CreateListDescribeDelete_InTablesAndJson()
    {
        await LoginAsync();

        (await _cli.RunAsync("cluster", "create", "blue")).EnsureSuccess();
        var list = (await _cli.RunAsync("-o", "json", "cluster", "list")).EnsureSuccess().Json.AsArray();
        var table = (await _cli.RunAsync("cluster", "describe", "blue")).EnsureSuccess().Output;
        var deleted = (await _cli.RunAsync("-o", "json", "cluster", "delete", "blue")).EnsureSuccess().Json.AsArray()[0]!;
        var missing = await _cli.RunAsync("cluster", "describe", "blue-never");

        Assert.Contains(list, c => (string?)c!["name"] == "blue" && (string?)c["status"] == "ACTIVE");
        // The last column is the awsvpc task CIDR the cluster got from the scheduler's pool.
        Assert.Matches(@"(?m)^blue\s+ACTIVE\s+0\s+0\s+0\s+0\s+\d+\.\d+\.\d+\.\d+/\d+$", table);
        Assert.Equal("INACTIVE", (string?)deleted["status"]);
        Assert.Equal(ExitCodes.Failure, missing.ExitCode);
        Assert.Contains("not found", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskDefinitions_RegisterPrintsFamilyRevision_DescribeGivesTheEcsJson_DeregisterMarksInactive()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "td.json");
        var family = "web-" + Guid.NewGuid().ToString("N")[..6];
        await File.WriteAllTextAsync(file, $$"""
            {"family":"{{family}}","containerDefinitions":[{"name":"web","image":"berth-test/busybox:1","memory":64,
              "portMappings":[{"containerPort":8080,"hostPort":0}]}]}
            """);

        var first = (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess().Output.Trim();
        var second = (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess().Output.Trim();
        var described = (await _cli.RunAsync("-o", "json", "taskdef", "describe", family)).EnsureSuccess().Json["taskDefinition"]!;
        var table = (await _cli.RunAsync("taskdef", "describe", $"{family}:1")).EnsureSuccess().Output;
        var listed = (await _cli.RunAsync("-o", "json", "taskdef", "list", "--family", family)).EnsureSuccess().Json.AsArray();
        var deregistered = (await _cli.RunAsync("taskdef", "deregister", $"{family}:1")).EnsureSuccess().Output.Trim();

        Assert.Equal($"{family}:1", first);
        Assert.Equal($"{family}:2", second);
        Assert.Equal(2, (int?)described["revision"]);
        Assert.Equal(8080, (int?)described["containerDefinitions"]![0]!["portMappings"]![0]!["containerPort"]);
        Assert.Matches(@"(?m)^web\s+berth-test/busybox:1\s+0->8080\s+yes$", table);
        Assert.Equal(2, listed.Count);
        Assert.Equal($"{family}:1 INACTIVE", deregistered);
    }

    [Fact]
    public async Task InvalidTaskDefinition_ExitsOne_NamingTheField()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "bad.json");
        await File.WriteAllTextAsync(file, """{"family":"bad","containerDefinitions":[{"name":"web","image":"x","memory":64,"portMappings":[{"containerPort":70000}]}]}""");

        var result = await _cli.RunAsync("taskdef", "register", file);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("invalid request: containerDefinitions[0].portMappings[0].containerPort", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MisspelledField_Registers_WithAWarningNamingTheFieldItResembles_AndIsKept()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "typo.json");
        var family = "typo-" + Guid.NewGuid().ToString("N")[..6];
        await File.WriteAllTextAsync(file, $$"""{"family":"{{family}}","taskRoleArn":"arn:aws:iam::1:role/r","containerDefinitions":[{"name":"web","image":"x","memory":64,"memoryy":3}]}""");

        var result = (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess();
        var described = (await _cli.RunAsync("-o", "json", "taskdef", "describe", family)).EnsureSuccess().Json["taskDefinition"]!;

        Assert.Equal($"{family}:1", result.Output.Trim());
        Assert.Contains("warning: containerDefinitions[0].memoryy is not a task-definition field; did you mean memory?", result.Error, StringComparison.Ordinal);
        // An ECS field Berth does not use is no mistake: no warning for it.
        Assert.DoesNotContain("taskRoleArn", result.Error, StringComparison.Ordinal);
        Assert.Equal(3, (int?)described["containerDefinitions"]![0]!["memoryy"]);
    }

    [Fact]
    public async Task MalformedJson_IsReportedWithOnePosition()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "broken.json");
        await File.WriteAllTextAsync(file, "{\n  \"family\": \"broken\",\n  \"containerDefinitions\": [,]\n}");

        var result = await _cli.RunAsync("taskdef", "register", file);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Matches(@"malformed JSON: .* \(line 3, column \d+\)\.$", result.Error.Trim());
        Assert.DoesNotContain("LineNumber", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotFound_NamesTheListCommand()
    {
        await LoginAsync();

        var result = await _cli.RunAsync("service", "describe", "--name", "nothing-" + Guid.NewGuid().ToString("N")[..6]);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("`berth service list` shows what exists", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_SaysWhichFile()
    {
        await LoginAsync();

        var result = await _cli.RunAsync("taskdef", "register", "/nonexistent/td.json");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("cannot read /nonexistent/td.json", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskRun_InAClusterWithoutHosts_ExplainsTheFailedPrecondition()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "td.json");
        await File.WriteAllTextAsync(file, """{"family":"lonely","containerDefinitions":[{"name":"web","image":"x","memory":64}]}""");
        (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess();
        (await _cli.RunAsync("cluster", "create", "empty")).EnsureSuccess();

        var result = await _cli.RunAsync("--cluster", "empty", "task", "run", "--taskdef", "lonely", "--strategy", "spread(attribute:berth.zone)", "--constraint", "distinctInstance");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("not possible now", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstanceList_OfAnEmptyCluster_IsAnEmptyTable()
    {
        await LoginAsync();
        (await _cli.RunAsync("cluster", "create", "nohosts")).EnsureSuccess();

        var table = (await _cli.RunAsync("-c", "nohosts", "instance", "list")).EnsureSuccess().Output;
        var json = (await _cli.RunAsync("-c", "nohosts", "-o", "json", "instance", "list")).EnsureSuccess().Json.AsArray();

        Assert.StartsWith("INSTANCE", table, StringComparison.Ordinal);
        Assert.Single(table.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(json);
    }

    public void Dispose() => _cli.Dispose();
}

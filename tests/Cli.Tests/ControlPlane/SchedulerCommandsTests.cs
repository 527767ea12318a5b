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

    /// <summary>A cluster named <paramref name="name"/> with a task definition family of that name (one small container).</summary>
    private async Task CreateClusterWithTaskDefinitionAsync(string name)
    {
        (await _cli.RunAsync("cluster", "create", name)).EnsureSuccess();
        var file = Path.Combine(_cli.Home, $"{name}.json");
        await File.WriteAllTextAsync(file, $$"""{"family":"{{name}}","containerDefinitions":[{"name":"web","image":"berth-test/busybox:1","memory":64}]}""");
        (await _cli.RunAsync("-c", name, "taskdef", "register", file)).EnsureSuccess();
    }

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
    public async Task TargetGroups_TakeATargetType_IpForAwsvpcServices_InstanceByDefault()
    {
        await LoginAsync();
        (await _cli.RunAsync("cluster", "create", "default")).EnsureSuccess();

        var ip = (await _cli.RunAsync("-o", "json", "targetgroup", "create", "tt-ip", "--port", "8080", "--target-type", "ip")).EnsureSuccess().Json.AsArray()[0]!;
        (await _cli.RunAsync("targetgroup", "create", "tt-instance", "--port", "80")).EnsureSuccess();
        var table = (await _cli.RunAsync("targetgroup", "describe", "tt-instance")).EnsureSuccess().Output;
        var bad = await _cli.RunAsync("targetgroup", "create", "tt-fn", "--port", "80", "--target-type", "lambda");

        Assert.Equal("ip", (string?)ip["targetType"]);
        Assert.Contains("Target type", table, StringComparison.Ordinal);
        Assert.Matches(@"Target type:?\s+instance", table);
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
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
        // Then the awsvpc task CIDR the cluster got from the scheduler's pool, and no capacity providers nor default strategy.
        Assert.Matches(@"(?m)^blue\s+ACTIVE\s+0\s+0\s+0\s+0\s+\d+\.\d+\.\d+\.\d+/\d+\s+-\s+-$", table);
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

    [Fact]
    public async Task ServiceScaling_TargetPoliciesScheduleActivitiesAndMetrics_ThroughTheCli()
    {
        await LoginAsync();
        var file = Path.Combine(_cli.Home, "td.json");
        await File.WriteAllTextAsync(file, """{"family":"scaled","containerDefinitions":[{"name":"web","image":"x","cpu":256,"memory":64}]}""");
        (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess();
        (await _cli.RunAsync("cluster", "create", "scaling")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "create", "-s", "web", "-t", "scaled", "-n", "0")).EnsureSuccess();

        var refused = await _cli.RunAsync("-c", "scaling", "service", "scaling", "target", "register", "-s", "web", "--min", "5", "--max", "2");
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("ValidationException: max_capacity", refused.Error, StringComparison.Ordinal);

        var arn = (await _cli.RunAsync("-c", "scaling", "service", "scaling", "target", "register", "-s", "web", "--min", "0", "--max", "8")).EnsureSuccess().Output.Trim();
        Assert.Equal("arn:berth:application-autoscaling:local:scalable-target/scaling/web", arn);
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "target", "register", "-s", "web", "--suspend-scale-in", "true")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "policy", "put", "-s", "web", "--policy-name", "cpu50", "--cpu", "50", "--scale-in-cooldown", "120")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "policy", "put-step", "-s", "web", "--policy-name", "hot", "--threshold", "80", "--comparison", ">=",
            "--step", "0:10=1", "--step", "10:=3")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "schedule", "put", "-s", "web", "--action-name", "night", "--schedule", "cron(0 22 ? * * *)",
            "--timezone", "Europe/Berlin", "--max", "2")).EnsureSuccess();

        var targets = (await _cli.RunAsync("-c", "scaling", "service", "scaling", "target", "describe")).EnsureSuccess().Output;
        Assert.Matches(@"(?m)^web\s+0\s+8\s+0\s+scale-in\s", targets);
        var policies = (await _cli.RunAsync("-c", "scaling", "-o", "json", "service", "scaling", "policy", "describe", "-s", "web")).EnsureSuccess().Json.AsArray();
        Assert.Equal(["cpu50", "hot"], policies.Select(p => (string?)p!["policyName"]));
        Assert.Equal(120, (int?)policies[0]!["targetTrackingScalingPolicyConfiguration"]!["scaleInCooldown"]);
        Assert.Equal(2, policies[1]!["stepScalingPolicyConfiguration"]!["stepAdjustments"]!.AsArray().Count);
        var schedules = (await _cli.RunAsync("-c", "scaling", "service", "scaling", "schedule", "describe")).EnsureSuccess().Output;
        Assert.Matches(@"(?m)^web\s+night\s+cron\(0 22 \? \* \* \*\)\s+Europe/Berlin\s+-\s+2\s+\d{4}-", schedules);
        Assert.Single((await _cli.RunAsync("-c", "scaling", "service", "scaling", "activities")).EnsureSuccess().Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var metrics = (await _cli.RunAsync("-c", "scaling", "service", "metrics", "-s", "web")).EnsureSuccess().Output;
        Assert.Contains("no data", metrics, StringComparison.Ordinal);
        Assert.Empty((await _cli.RunAsync("-c", "scaling", "-o", "json", "task", "stats")).EnsureSuccess().Json.AsArray());

        var bad = await _cli.RunAsync("-c", "scaling", "service", "scaling", "policy", "put-step", "-s", "web", "--policy-name", "x", "--threshold", "1", "--comparison", ">", "--step", "0-1");
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "policy", "delete", "-s", "web", "--policy-name", "hot")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "schedule", "delete", "-s", "web", "--action-name", "night")).EnsureSuccess();
        (await _cli.RunAsync("-c", "scaling", "service", "scaling", "target", "deregister", "-s", "web")).EnsureSuccess();
        var gone = await _cli.RunAsync("-c", "scaling", "service", "scaling", "policy", "delete", "-s", "web", "--policy-name", "cpu50");
        Assert.Contains("ObjectNotFoundException", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostGroups_OnASchedulerWithoutAProvisioner_ListEmpty_RefuseWithAutoScalingsWordsAndTheReason()
    {
        await LoginAsync();
        (await _cli.RunAsync("cluster", "create", "hosts")).EnsureSuccess();

        Assert.Empty((await _cli.RunAsync("-c", "hosts", "-o", "json", "hostgroup", "list")).EnsureSuccess().Json.AsArray());
        var badSize = await _cli.RunAsync("-c", "hosts", "hostgroup", "create", "web", "--min", "1", "--max", "3", "--desired", "5");
        var noProvisioner = await _cli.RunAsync("-c", "hosts", "hostgroup", "create", "web", "--min", "1", "--max", "3", "--zone", "a", "--attribute", "team=blue");
        var badAttribute = await _cli.RunAsync("-c", "hosts", "hostgroup", "create", "web", "--min", "1", "--max", "3", "--attribute", "team");
        var missing = await _cli.RunAsync("-c", "hosts", "hostgroup", "activities", "nope");

        Assert.Equal(ExitCodes.Failure, badSize.ExitCode);
        Assert.Contains("ValidationError: Desired capacity:5 must be between the specified min size:1 and max size:3", badSize.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failure, noProvisioner.ExitCode);
        Assert.Contains("No host provisioner is configured", noProvisioner.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, badAttribute.ExitCode);
        Assert.Contains("expected NAME=VALUE", badAttribute.Error, StringComparison.Ordinal);
        Assert.Contains("AutoScalingGroup name not found", missing.Error, StringComparison.Ordinal);
        Assert.Empty((await _cli.RunAsync("-c", "hosts", "-o", "json", "hostgroup", "list")).EnsureSuccess().Json.AsArray());
    }

    [Fact]
    public async Task CapacityProviders_CreateRefusedInEcsWords_PutClusterCapacityProvidersShowsInClusterDescribe()
    {
        await LoginAsync();
        (await _cli.RunAsync("cluster", "create", "cp")).EnsureSuccess();

        Assert.Empty((await _cli.RunAsync("-c", "cp", "-o", "json", "capacity-provider", "describe")).EnsureSuccess().Json.AsArray());
        var reserved = await _cli.RunAsync("-c", "cp", "capacity-provider", "create", "fargate-x", "--host-group", "web");
        var noGroup = await _cli.RunAsync("-c", "cp", "capacity-provider", "create", "web-cp", "--host-group", "web", "--target-capacity", "80");
        var badSwitch = await _cli.RunAsync("-c", "cp", "capacity-provider", "create", "web-cp", "--host-group", "web", "--managed-scaling", "on");
        var badItem = await _cli.RunAsync("-c", "cp", "cluster", "put-capacity-providers", "FARGATE", "--default-strategy", "FARGATE,weight=1");
        var notAssociated = await _cli.RunAsync("-c", "cp", "cluster", "put-capacity-providers", "FARGATE", "--default-strategy", "provider=FARGATE_SPOT,weight=1");

        Assert.Equal(ExitCodes.Failure, reserved.ExitCode);
        Assert.Contains("can't be prefixed with \"aws\", \"ecs\", or \"fargate\"", reserved.Error, StringComparison.Ordinal);
        Assert.Contains("InvalidParameterException: The specified Auto Scaling group 'web' does not exist in cluster 'cp'", noGroup.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, badSwitch.ExitCode);
        Assert.Equal(ExitCodes.Usage, badItem.ExitCode);
        Assert.Contains("expected provider=NAME[,base=N][,weight=N]", badItem.Error, StringComparison.Ordinal);
        Assert.Contains("not associated with the cluster", notAssociated.Error, StringComparison.Ordinal);

        (await _cli.RunAsync("-c", "cp", "cluster", "put-capacity-providers", "FARGATE", "FARGATE_SPOT",
            "--default-strategy", "provider=FARGATE,base=1,weight=1", "--default-strategy", "capacityProvider=FARGATE_SPOT,weight=3")).EnsureSuccess();
        var cluster = (await _cli.RunAsync("-o", "json", "cluster", "describe", "cp")).EnsureSuccess().Json.AsArray().Single()!;
        Assert.Equal(["FARGATE", "FARGATE_SPOT"], cluster["capacityProviders"]!.AsArray().Select(n => (string)n!));
        var strategy = cluster["defaultCapacityProviderStrategy"]!.AsArray();
        Assert.Equal(("FARGATE", 1, 1), ((string)strategy[0]!["capacityProvider"]!, (int)strategy[0]!["base"]!, (int)strategy[0]!["weight"]!));
        Assert.Equal(("FARGATE_SPOT", 3), ((string)strategy[1]!["capacityProvider"]!, (int)strategy[1]!["weight"]!));
    }

    [Fact]
    public async Task CapacityProviderStrategy_ReachesRunTaskAndServices_ExclusiveWithLaunchTypeInEcsWords()
    {
        await LoginAsync();
        await CreateClusterWithTaskDefinitionAsync("cps");

        var both = await _cli.RunAsync("-c", "cps", "task", "run", "-t", "cps", "--launch-type", "EC2", "--capacity-provider-strategy", "provider=FARGATE,weight=1");
        var badItem = await _cli.RunAsync("-c", "cps", "task", "run", "-t", "cps", "--capacity-provider-strategy", "FARGATE");
        var created = await _cli.RunAsync("-c", "cps", "service", "create", "-s", "api", "-t", "cps", "-n", "0",
            "--capacity-provider-strategy", "provider=FARGATE,base=1,weight=1", "--capacity-provider-strategy", "provider=FARGATE_SPOT,weight=2");
        (await _cli.RunAsync("-c", "cps", "service", "create", "-s", "plain", "-t", "cps", "-n", "0")).EnsureSuccess();
        var updated = await _cli.RunAsync("-c", "cps", "service", "update", "-s", "plain", "--capacity-provider-strategy", "provider=FARGATE_SPOT,weight=1");

        Assert.Equal(ExitCodes.Failure, both.ExitCode);
        Assert.Contains("InvalidParameterException: Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.", both.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, badItem.ExitCode);
        Assert.Contains("--capacity-provider-strategy 'FARGATE': expected provider=NAME[,base=N][,weight=N].", badItem.Error, StringComparison.Ordinal);
        // Both items reached the scheduler, which checks them against the cluster (no provider is associated yet).
        Assert.Contains("cannot contain a capacity provider ('FARGATE') that is not associated with the cluster", created.Error, StringComparison.Ordinal);
        Assert.Contains("cannot contain a capacity provider ('FARGATE_SPOT') that is not associated with the cluster", updated.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceHealthCheckGracePeriod_SetOnCreateAndUpdate_InEitherSpelling_ShownByDescribe_KeptWhenNotGiven()
    {
        await LoginAsync();
        await CreateClusterWithTaskDefinitionAsync("grace");

        (await _cli.RunAsync("-c", "grace", "service", "create", "-s", "slow", "-t", "grace", "-n", "0", "--health-check-grace-period", "120")).EnsureSuccess();
        (await _cli.RunAsync("-c", "grace", "service", "create", "-s", "plain", "-t", "grace", "-n", "0")).EnsureSuccess();
        var created = (await _cli.RunAsync("-c", "grace", "-o", "json", "service", "describe", "-s", "slow")).EnsureSuccess().Json;
        var table = (await _cli.RunAsync("-c", "grace", "service", "describe", "-s", "slow")).EnsureSuccess().Output;
        var plain = (await _cli.RunAsync("-c", "grace", "service", "describe", "-s", "plain")).EnsureSuccess().Output;
        (await _cli.RunAsync("-c", "grace", "service", "update", "-s", "slow", "--health-check-grace-period-seconds", "30")).EnsureSuccess();
        var updated = (await _cli.RunAsync("-c", "grace", "-o", "json", "service", "describe", "-s", "slow")).EnsureSuccess().Json;
        (await _cli.RunAsync("-c", "grace", "service", "update", "-s", "slow", "--desired", "0")).EnsureSuccess();
        var kept = (await _cli.RunAsync("-c", "grace", "-o", "json", "service", "describe", "-s", "slow")).EnsureSuccess().Json;

        Assert.Equal(120, (int?)created["healthCheckGracePeriodSeconds"]);
        Assert.Matches(@"(?m)^Health check grace period:\s+120 s$", table);
        Assert.Matches(@"(?m)^Health check grace period:\s+0 s$", plain);
        Assert.Equal(30, (int?)updated["healthCheckGracePeriodSeconds"]);
        // As in ECS, a new grace period alone starts no deployment.
        Assert.Single(updated["deployments"]!.AsArray());
        Assert.Equal(30, (int?)kept["healthCheckGracePeriodSeconds"]);
    }

    public void Dispose() => _cli.Dispose();
}

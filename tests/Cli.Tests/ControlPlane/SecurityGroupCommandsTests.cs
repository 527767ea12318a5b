using Berth.Cli.Common;
using Berth.Cli.SecurityGroups;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.ControlPlane;

/// <summary><c>berth securitygroup</c> and <c>--security-groups</c> against a real scheduler process over gRPC.</summary>
public sealed class SecurityGroupCommandsTests(SchedulerFixture scheduler, ITestOutputHelper output) : IClassFixture<SchedulerFixture>, IDisposable
{
    private readonly CliRunner _cli = new(output);

    private async Task<string> LoginInFreshClusterAsync()
    {
        (await _cli.RunAsync("--endpoint", scheduler.Url, "login", "--token-file", scheduler.TokenFile)).EnsureSuccess();
        var cluster = "sg-cli-" + Guid.NewGuid().ToString("N")[..6];
        (await _cli.RunAsync("cluster", "create", cluster)).EnsureSuccess();
        return cluster;
    }

    [Fact]
    public async Task CreateAuthorizeDescribeRevokeDelete_InTablesAndJson_WithEc2sErrors()
    {
        var cluster = await LoginInFreshClusterAsync();
        async Task<CliResult> Run(params string[] args) => await _cli.RunAsync(["--cluster", cluster, .. args]);

        var web = (string)(await Run("-o", "json", "securitygroup", "create", "web", "--description", "web tier")).EnsureSuccess().Json.AsArray()[0]!["groupId"]!;
        var clients = (string)(await Run("-o", "json", "securitygroup", "create", "clients", "--description", "callers")).EnsureSuccess().Json.AsArray()[0]!["groupId"]!;
        Assert.Matches("^sg-[0-9a-f]{17}$", web);

        var listed = (await Run("securitygroup", "list")).EnsureSuccess().Output;
        Assert.Matches($@"(?m)^{web}\s+web\s+0\s+web tier$", listed);
        Assert.Matches(@"(?m)^sg-[0-9a-f]{17}\s+default\s+0\s+default security group", listed);

        (await Run("securitygroup", "authorize", "web", "--port", "8080", "--source-group", clients, "--description", "from clients")).EnsureSuccess();
        var rules = (await Run("securitygroup", "authorize", web, "--port", "9000-9100", "--cidr", "10.1.0.0/16")).EnsureSuccess().Output;
        Assert.Matches(@"(?m)^tcp\s+9000-9100\s+10\.1\.0\.0/16\s+-$", rules);
        var described = (await Run("securitygroup", "describe", "web")).EnsureSuccess().Output;
        Assert.Matches($@"(?m)^tcp\s+8080\s+{clients}\s+from clients$", described);
        Assert.Contains("all traffic", described, StringComparison.Ordinal);

        var duplicate = await Run("securitygroup", "authorize", "web", "--port", "8080", "--source-group", clients);
        Assert.Equal(ExitCodes.Failure, duplicate.ExitCode);
        Assert.Contains("already exists: InvalidPermission.Duplicate", duplicate.Error, StringComparison.Ordinal);
        var badCidr = await Run("securitygroup", "authorize", "web", "--port", "80", "--cidr", "10.0.0/8");
        Assert.Contains("invalid request: InvalidParameterValue: CIDR block 10.0.0/8 is malformed", badCidr.Error, StringComparison.Ordinal);
        var noSource = await Run("securitygroup", "authorize", "web", "--port", "80");
        Assert.Equal(ExitCodes.Usage, noSource.ExitCode);

        var inUse = await Run("securitygroup", "delete", "clients");
        Assert.Equal(ExitCodes.Failure, inUse.ExitCode);
        Assert.Contains($"not possible now: DependencyViolation: resource {clients} has a dependent object", inUse.Error, StringComparison.Ordinal);
        (await Run("securitygroup", "revoke", "web", "--port", "8080", "--source-group", clients)).EnsureSuccess();
        Assert.Contains($"deleted {clients}", (await Run("securitygroup", "delete", "clients")).EnsureSuccess().Output, StringComparison.Ordinal);
        var gone = await Run("securitygroup", "describe", "clients");
        Assert.Contains("InvalidGroup.NotFound", gone.Error, StringComparison.Ordinal);
        Assert.Contains("berth securitygroup list", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskRunAndServiceCreate_PassSecurityGroups_AndUnknownOnesAreRefusedInEcsWords()
    {
        var cluster = await LoginInFreshClusterAsync();
        var file = Path.Combine(_cli.Home, "awsvpc.json");
        var family = "vpc-" + Guid.NewGuid().ToString("N")[..6];
        await File.WriteAllTextAsync(file, $$"""{"family":"{{family}}","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"x"}]}""");
        (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess();

        var run = await _cli.RunAsync("--cluster", cluster, "task", "run", "--taskdef", family, "--security-groups", "sg-0badbadbadbadbad0");
        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Contains("Error retrieving security group information for [sg-0badbadbadbadbad0]", run.Error, StringComparison.Ordinal);

        var web = (string)(await _cli.RunAsync("--cluster", cluster, "-o", "json", "securitygroup", "create", "web", "--description", "w")).EnsureSuccess().Json.AsArray()[0]!["groupId"]!;
        var service = (await _cli.RunAsync("--cluster", cluster, "-o", "json", "service", "create", "--name", "api", "--taskdef", family, "--desired", "0", "--security-groups", web)).EnsureSuccess().Json;
        var shown = service is System.Text.Json.Nodes.JsonArray array ? array[0]! : service;
        Assert.Equal(web, (string?)shown["networkConfiguration"]!["awsvpcConfiguration"]!["securityGroups"]![0]);
    }

    [Theory]
    [InlineData("tcp", "8080", 8080, 8080)]
    [InlineData("udp", "8000-8100", 8000, 8100)]
    [InlineData("icmp", "-1", -1, -1)]
    public void Permission_ParsesEc2sPortShorthand(string protocol, string port, int from, int to)
    {
        var permission = SecurityGroupCommands.Permission(protocol, port, ["10.0.0.0/8"], [], "d");

        Assert.Equal((protocol, from, to, "10.0.0.0/8", "d"), (permission.IpProtocol, permission.FromPort, permission.ToPort, permission.IpRanges[0].CidrIp, permission.IpRanges[0].Description));
    }

    [Fact]
    public void Permission_WithoutPortsLeavesThemUnset_AndABadPortIsAUsageError()
    {
        var all = SecurityGroupCommands.Permission("all", null, [], ["sg-1"], "");
        Assert.False(all.HasFromPort);
        Assert.Equal("sg-1", all.UserIdGroupPairs[0].GroupId);

        var bad = Assert.Throws<CliException>(() => SecurityGroupCommands.Permission("tcp", "80-x", ["10.0.0.0/8"], [], ""));
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
    }

    public void Dispose() => _cli.Dispose();
}

using Berth.Cli.Common;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.ControlPlane;

/// <summary><c>--subnets</c> and <c>berth cluster subnets</c> against a real scheduler process over gRPC.</summary>
public sealed class SubnetCommandsTests(SchedulerFixture scheduler, ITestOutputHelper output) : IClassFixture<SchedulerFixture>, IDisposable
{
    private readonly CliRunner _cli = new(output);

    [Fact]
    public async Task TaskRunAndServiceCreateUpdate_PassSubnetsCommaSeparated_AndUnknownOnesAreRefusedInEcsWords()
    {
        (await _cli.RunAsync("--endpoint", scheduler.Url, "login", "--token-file", scheduler.TokenFile)).EnsureSuccess();
        var cluster = "sn-cli-" + Guid.NewGuid().ToString("N")[..6];
        (await _cli.RunAsync("cluster", "create", cluster)).EnsureSuccess();
        var file = Path.Combine(_cli.Home, "awsvpc.json");
        var family = "vpc-" + Guid.NewGuid().ToString("N")[..6];
        await File.WriteAllTextAsync(file, $$"""{"family":"{{family}}","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"x"}]}""");
        (await _cli.RunAsync("taskdef", "register", file)).EnsureSuccess();
        async Task<CliResult> Run(params string[] args) => await _cli.RunAsync(["--cluster", cluster, .. args]);

        // A cluster without hosts has no zone, so no subnet: every id is unknown, and both reach the scheduler.
        Assert.Equal("[]", (await Run("-o", "json", "cluster", "subnets")).EnsureSuccess().Json.ToJsonString());
        var run = await Run("task", "run", "--taskdef", family, "--subnets", "subnet-aaa,subnet-bbb");
        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Contains("InvalidParameterException: Error retrieving subnet information for [subnet-aaa, subnet-bbb]: The subnet ID 'subnet-aaa' does not exist", run.Error, StringComparison.Ordinal);
        var create = await Run("service", "create", "--name", "api", "--taskdef", family, "--desired", "0", "--subnets", "subnet-ccc", "--subnets", "subnet-ccc");
        Assert.Contains("subnet 'subnet-ccc' is specified more than once", create.Error, StringComparison.Ordinal);

        (await Run("service", "create", "--name", "api", "--taskdef", family, "--desired", "0")).EnsureSuccess();
        var update = await Run("service", "update", "--name", "api", "--subnets", "subnet-ddd");
        Assert.Contains("The subnet ID 'subnet-ddd' does not exist", update.Error, StringComparison.Ordinal);
        var missing = await Run("cluster", "subnets", "subnet-eee");
        Assert.Contains("InvalidSubnetID.NotFound: The subnet ID 'subnet-eee' does not exist", missing.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}

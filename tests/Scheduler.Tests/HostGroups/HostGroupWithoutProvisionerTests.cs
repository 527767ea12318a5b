using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>A scheduler with no provisioner configured starts as before and refuses host groups clearly.</summary>
public sealed class HostGroupWithoutProvisionerTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task CreateHostGroup_WithoutAProvisioner_IsRefusedWithTheReason()
    {
        var groups = new V1.HostGroups.HostGroupsClient(Host.Channel);
        await using (await SimulatedAgent.RegisterAsync(Host, connect: false))
        {
        }

        var e = await Assert.ThrowsAsync<RpcException>(() => groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 1 }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("No host provisioner is configured", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Provisioning:Kind", e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest(), Host.Admin)).HostGroups);
    }
}

using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Tests.Provisioning;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>A host group in the real scheduler process, making a real lab host (namespace, dockerd, agent) with the lab provisioner.</summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostGroupLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HostGroupOfOne_GetsARealRegisteredAgentHost_UpdateToZero_DestroysItAndDeregistersTheInstance()
    {
        await using var lab = await LabProvisionerFixture.StartAsync(output.WriteLine, schedulerProvisions: true);

        await lab.HostGroups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "lab", MinSize = 0, MaxSize = 2, DesiredCapacity = 1, Zones = { "a" }, InstanceType = "lab.small" }, lab.Admin);

        var group = await lab.WaitForHostGroupAsync("lab", g => g.Hosts is [{ LifecycleState: "InService" }], TimeSpan.FromMinutes(4), "the group's host in service");
        var host = group.Hosts[0];
        Assert.Equal("lab", group.Provisioner);
        var instance = Assert.Single(await lab.InstancesAsync());
        Assert.Equal(host.ContainerInstanceArn, instance.ContainerInstanceArn);
        Assert.Contains(instance.Attributes, a => a.Name == HostRequest.HostNameAttribute && a.Value == host.Name);
        Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == "a");
        await TaskTimeouts.WaitUntilAsync(async () => (await lab.InstancesAsync()).Single().AgentConnected, TimeSpan.FromSeconds(60), "the agent's session");
        Assert.Equal([(host.Name, ProvisionedHostState.Running)], (await lab.Provisioner().ListAsync(CancellationToken.None).WithTimeout()).Select(h => (h.Name, h.State)));

        await lab.HostGroups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "lab", DesiredCapacity = 0 }, lab.Admin);

        await lab.WaitForHostGroupAsync("lab", g => g.Hosts.Count == 0, TimeSpan.FromMinutes(3), "the host terminated");
        Assert.Empty(await lab.Provisioner().ListAsync(CancellationToken.None).WithTimeout());
        Assert.Empty(await lab.InstancesAsync());
        Assert.Contains(await lab.InstancesAsync("INACTIVE"), i => i.ContainerInstanceArn == host.ContainerInstanceArn);
        var activities = (await lab.HostGroups.DescribeHostGroupActivitiesAsync(new DescribeHostGroupActivitiesRequest { Name = "lab" }, lab.Admin)).Activities;
        Assert.Equal([($"Terminating host: {host.Name}", "Successful"), ($"Launching a new host: {host.Name}", "Successful")], activities.Select(a => (a.Description, a.StatusCode)));
    }
}

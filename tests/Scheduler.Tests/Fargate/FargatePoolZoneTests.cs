using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>
/// The FARGATE pool in two zones (<c>FargatePool:Zones</c>) and tasks that name subnets, in one scheduler on a fake clock
/// over real gRPC (the pool's hosts are simulated agents made by the fake provisioner in the zone the pool asks for): as
/// ECS/Fargate places a task in one of its subnets, the pool makes the hosts its waiting tasks need in their subnets'
/// zones, and refuses at once a task whose subnets are in no zone it makes hosts in.
/// </summary>
public sealed class FargatePoolZoneTests(ITestOutputHelper output)
    : FargatePoolTest(output, new DateTimeOffset(2026, 12, 5, 3, 0, 0, TimeSpan.Zero))
{
    private protected override IEnumerable<KeyValuePair<string, string?>> PoolSettings =>
    [
        new("FargatePool:Zones:0", "zone-a"),
        new("FargatePool:Zones:1", "zone-b"),
    ];

    private static NetworkConfiguration InSubnets(params string[] subnets) =>
        new() { AwsvpcConfiguration = new AwsvpcNetworkConfiguration { Subnets = { subnets } } };

    [Fact]
    public async Task TasksRestrictedToOneSubnet_MakePoolHostsOnlyInItsZone()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        // The pool's zones are subnets of the cluster before any host is in them: the pool makes hosts there on demand.
        var subnets = await SubnetsByZoneAsync();
        Assert.Equal(["zone-a", "zone-b"], subnets.Keys.Order(StringComparer.Ordinal));
        Assert.All(subnets.Values, s => Assert.Empty(s.Hosts));

        // Three tasks in zone-b's subnet: two hosts' worth. The pool's first zone is zone-a, where it would begin.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "api", TaskDefinition = "api", DesiredCount = 3, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(subnets["zone-b"].SubnetId),
        }, Host.Admin);
        Assert.All(await WaitForServiceTasksAsync("api", 3), t => Assert.Equal(LifecycleStatus.Provisioning, t.LastStatus));

        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var placed = await WaitForServiceTasksAsync("api", 3, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending));

        var pool = (await DescribePoolAsync()).FargatePool;
        Assert.Equal(2, pool.Hosts.Count);
        Assert.All(pool.Hosts, h => Assert.Equal("zone-b", Provisioner.Requests[h.Name].Zone));
        Assert.Equal(2, Provisioner.Calls.Count(c => c.StartsWith("create ", StringComparison.Ordinal)));
        var zoneB = (await SubnetsByZoneAsync())["zone-b"].Hosts.Select(h => h.ContainerInstanceArn).ToHashSet();
        Assert.All(placed, t => Assert.Contains(t.ContainerInstanceArn, zoneB));
    }

    [Fact]
    public async Task TwoServicesInTwoSubnets_MakeOneHostInEachZone_AndScaleInRetiresOnlyTheEmptyOne()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        var subnets = await SubnetsByZoneAsync();

        // The hosts are held at the provisioner until the test has seen what the pool asked for.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Provisioner.OnCreate = async (request, cancellationToken) =>
        {
            await gate.Task.WaitAsync(cancellationToken);
            return await Provisioner.MakeAsync(request);
        };
        foreach (var (service, zone) in new[] { ("left", "zone-a"), ("right", "zone-b") })
        {
            await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = service, TaskDefinition = "api", DesiredCount = 1, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(subnets[zone].SubnetId),
            }, Host.Admin);
            await WaitForServiceTasksAsync(service, 1);
        }

        // One task would fit one host, but they are in two zones: the first scale-out asks for a host in each (while the
        // hosts are held nothing registered, so no pass could have measured one).
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        await WaitForPoolAsync(p => p.FargatePool.DesiredCapacity == 2, "the pool's desired capacity at 2");
        gate.SetResult();
        var hosts = (await WaitForPoolAsync(p => p.FargatePool.Hosts.Count(h => h.ContainerInstanceArn.Length > 0) == 2, "two pool hosts registered")).FargatePool.Hosts;
        Assert.Equal(["zone-a", "zone-b"], hosts.Select(h => Provisioner.Requests[h.Name].Zone).Order(StringComparer.Ordinal));

        var left = Assert.Single(await WaitForServiceTasksAsync("left", 1, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending)));
        var right = Assert.Single(await WaitForServiceTasksAsync("right", 1, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending)));
        var byZone = await SubnetsByZoneAsync();
        Assert.Equal(left.ContainerInstanceArn, Assert.Single(byZone["zone-a"].Hosts).ContainerInstanceArn);
        Assert.Equal(right.ContainerInstanceArn, Assert.Single(byZone["zone-b"].Hosts).ContainerInstanceArn);

        // "right" goes away: after the idle timeout the pool retires its now empty host, never the one "left" runs on.
        var pool = (await DescribePoolAsync()).FargatePool;
        var rightHost = pool.Hosts.Single(h => h.ContainerInstanceArn == right.ContainerInstanceArn).Name;
        await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "right", DesiredCount = 0 }, Host.Admin);
        var agent = Provisioner.Agent(rightHost)!;
        await agent.WaitForDesiredAsync(d => d.Tasks.All(t => t.TaskArn != right.TaskArn || t.DesiredStatus == LifecycleStatus.Stopped), "the stop to reach the pool host");
        await agent.ReportAsync(right.TaskId, LifecycleStatus.Stopped);
        await TaskTimeouts.WaitUntilAsync(async () =>
            (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { right.TaskArn } }, Host.Admin)).Tasks.Single().LastStatus == LifecycleStatus.Stopped,
            what: "right's task STOPPED");

        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Clock.Advance(TimeSpan.FromMinutes(5));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var shrunk = await WaitForPoolAsync(p => p.FargatePool.Hosts.Count == 1, "the pool down to one host");
        Assert.Equal(1, shrunk.FargatePool.DesiredCapacity);
        Assert.Equal(left.ContainerInstanceArn, Assert.Single(shrunk.FargatePool.Hosts).ContainerInstanceArn);
        Assert.Contains($"destroy {rightHost}", Provisioner.Calls);
        Assert.Equal(2, Provisioner.Calls.Count(c => c.StartsWith("create ", StringComparison.Ordinal)));
        Assert.Equal(LifecycleStatus.Pending, Assert.Single(await WaitForServiceTasksAsync("left", 1)).LastStatus);
    }

    [Fact]
    public async Task AtMaxHosts_EmptyHostsInZonesNoWaitingTaskCanUse_AreRetiredForOneWhereItCan()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        var subnets = await SubnetsByZoneAsync();

        // Five tasks in zone-a fill the pool's three hosts (MaxHosts), all in zone-a.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "fill", TaskDefinition = "api", DesiredCount = 5, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(subnets["zone-a"].SubnetId),
        }, Host.Admin);
        await WaitForServiceTasksAsync("fill", 5);
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var fill = await WaitForServiceTasksAsync("fill", 5, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending));
        var pool = (await DescribePoolAsync()).FargatePool;
        Assert.Equal(3, pool.Hosts.Count);

        // Down to one task: two hosts are empty, within the idle timeout.
        await Host.ServicesApi.UpdateServiceAsync(new UpdateServiceRequest { Service = "fill", DesiredCount = 1 }, Host.Admin);
        var kept = Assert.Single(await WaitForServiceTasksAsync("fill", 1));
        foreach (var task in fill.Where(t => t.TaskArn != kept.TaskArn))
        {
            var agent = Provisioner.Agent(pool.Hosts.Single(h => h.ContainerInstanceArn == task.ContainerInstanceArn).Name)!;
            await agent.WaitForDesiredAsync(d => d.Tasks.All(t => t.TaskArn != task.TaskArn || t.DesiredStatus == LifecycleStatus.Stopped), "the stop to reach the pool host");
            await agent.ReportAsync(task.TaskId, LifecycleStatus.Stopped);
        }

        await TaskTimeouts.WaitUntilAsync(async () =>
            (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { fill.Select(t => t.TaskArn) } }, Host.Admin)).Tasks.Count(t => t.LastStatus == LifecycleStatus.Stopped) == 4,
            what: "four of fill's tasks STOPPED");

        // A task in zone-b: the pool is at its maximum, so the empty zone-a hosts make room for a zone-b host at once.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "other", TaskDefinition = "api", DesiredCount = 1, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(subnets["zone-b"].SubnetId),
        }, Host.Admin);
        await WaitForServiceTasksAsync("other", 1);
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var other = Assert.Single(await WaitForServiceTasksAsync("other", 1, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending)));
        var after = await WaitForPoolAsync(p => p.FargatePool.Hosts.Count == 2, "the pool at two hosts");
        Assert.Contains(after.FargatePool.Hosts, h => h.ContainerInstanceArn == kept.ContainerInstanceArn);
        Assert.Equal("zone-b", Provisioner.Requests[after.FargatePool.Hosts.Single(h => h.ContainerInstanceArn == other.ContainerInstanceArn).Name].Zone);
        Assert.Equal(LifecycleStatus.Pending, Assert.Single(await WaitForServiceTasksAsync("fill", 1)).LastStatus);
    }

    [Fact]
    public async Task ATaskWhoseSubnetsAreInNoZoneOfThePool_IsRefusedAtOnce_InEcsWords_AndMakesNoHost()
    {
        // zone-c is a subnet of the cluster (the user's own instance is there), but the pool makes hosts in zone-a and zone-b only.
        await using var mine = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: "zone-c"));
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Serverless }, Host.Admin);
        var zoneC = (await SubnetsByZoneAsync())["zone-c"].SubnetId;
        var expected = $"Capacity is unavailable in the Availability Zones of the task's subnets [{zoneC} (zone-c)]: capacity provider 'FARGATE' (Berth's FARGATE pool (FargatePool:Zones)) makes hosts only in Availability Zones zone-a, zone-b. Choose subnets in those zones.";

        // RunTask: a failure, not a task waiting forever in PROVISIONING.
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", Count = 2, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(zoneC) }, Host.Admin);
        Assert.Empty(run.Tasks);
        Assert.Equal(2, run.Failures.Count);
        Assert.All(run.Failures, f => Assert.Equal((StrategyPlacement.CapacityFailure, expected), (f.Reason, f.Detail)));

        // A service: ECS's "unable to place a task" event with the same words, and no task.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest
        {
            ServiceName = "api", TaskDefinition = "api", DesiredCount = 1, LaunchType = "FARGATE", NetworkConfiguration = InSubnets(zoneC),
        }, Host.Admin);
        await TaskTimeouts.WaitUntilAsync(
            async () => (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { "api" } }, Host.Admin)).Services.Single().Events
                .Any(e => e.Message == $"(service api) was unable to place a task. Reason: {expected}"),
            what: "the service's refusal event");
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = "api" }, Host.Admin)).TaskArns);

        // Nothing waits, so managed scaling makes no host.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(0, (await DescribePoolAsync()).FargatePool.DesiredCapacity);
        Assert.DoesNotContain(Provisioner.Calls, c => c.StartsWith("create ", StringComparison.Ordinal));
    }

    private async Task<Dictionary<string, Subnet>> SubnetsByZoneAsync() =>
        (await Host.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest(), Host.Admin)).Subnets.ToDictionary(s => s.AvailabilityZone);
}

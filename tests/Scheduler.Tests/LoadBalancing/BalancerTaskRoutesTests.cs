using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// The watch stream's task routes (issue 17): a balancer of a cluster whose target groups include an <c>ip</c> group gets a
/// route to every live host's task subnet through the host's address, in its snapshot and then as hosts come and go; a
/// balancer with no ip group gets none. The real scheduler over real gRPC, simulated agents and a fake balancer replica.
/// </summary>
public sealed class BalancerTaskRoutesTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512",
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private V1.LoadBalancing.LoadBalancingClient Api => new(Host.Channel);

    [Fact]
    public async Task TaskRoutes_FollowTheIpGroupsAndTheHosts_InTheSnapshotAndInDeltas()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "net", TaskCidr = "10.70.0.0/16" }, Host.Admin);
        await using var first = await SimulatedAgent.RegisterAsync(Host, "net");
        await using var second = await SimulatedAgent.RegisterAsync(Host, "net");
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Awsvpc }, Host.Admin);
        await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "net", TaskDefinition = "api", Count = 2, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } } }, Host.Admin);
        var one = (await first.WaitForDesiredAsync(d => d.HostNetwork?.PeerRoutes.Count == 1, "first host's network")).HostNetwork;
        var two = (await second.WaitForDesiredAsync(d => d.HostNetwork?.PeerRoutes.Count == 1, "second host's network")).HostNetwork;

        // A load balancer whose listener answers by itself, with an ip group no listener uses yet: no routes.
        var lb = (await Api.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front", Cluster = "net" }, Host.Admin)).LoadBalancer;
        var ip = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "api", Port = 8080, TargetType = "ip", Cluster = "net" }, Host.Admin)).TargetGroup;
        var instance = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web", Port = 80, Cluster = "net" }, Host.Admin)).TargetGroup;
        var listener = (await Api.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = lb.LoadBalancerArn,
            Port = 8080,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { Forward(instance.TargetGroupArn) },
        }, Host.Admin)).Listener;
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = lb.LoadBalancerArn }, Host.Admin)).Credential;
        await using var replica = await FakeBalancer.ConnectAsync(Host, credential, lb.LoadBalancerArn);
        await replica.WaitForAsync(b => b.Config is not null, "the snapshot");
        Assert.Empty(replica.Config!.TaskRoutes);

        // A rule forwarding to the ip group: a route to each host's subnet through the host (its session's address here).
        await Api.CreateRuleAsync(new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = 10,
            Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { "/api/*" } } } },
            Actions = { Forward(ip.TargetGroupArn) },
        }, Host.Admin);
        await replica.WaitForAsync(b => b.TaskRoutes.Count == 2, "routes to both hosts' subnets");
        Assert.Equal(new Dictionary<string, string> { [one.TaskSubnet] = "127.0.0.1", [two.TaskSubnet] = "127.0.0.1" }, replica.TaskRoutes);
        var added = replica.Deltas[^1].Changes.Where(c => c.ChangeCase == ConfigChange.ChangeOneofCase.TaskRouteUpserted).Select(c => c.TaskRouteUpserted).ToList();
        Assert.Equal([first.InstanceId, second.InstanceId], added.OrderBy(r => r.Subnet == one.TaskSubnet ? 0 : 1).Select(r => r.ContainerInstanceId));

        // A new replica's snapshot carries them too.
        await using var late = await FakeBalancer.ConnectAsync(Host, credential, lb.LoadBalancerArn, "replica-2");
        await late.WaitForAsync(b => b.Config is not null, "the second replica's snapshot");
        Assert.Equal([one.TaskSubnet, two.TaskSubnet], late.Config!.TaskRoutes.Select(r => r.Subnet));

        // A host leaves: a delta removes its route, and nothing else (the stream read only the routes).
        var before = replica.Deltas.Count;
        await Host.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { Cluster = "net", ContainerInstance = second.InstanceId, Force = true }, Host.Admin);
        await replica.WaitForAsync(b => b.TaskRoutes.Count == 1, "the route to the deregistered host removed");
        Assert.Equal(new Dictionary<string, string> { [one.TaskSubnet] = "127.0.0.1" }, replica.TaskRoutes);
        var removal = replica.Deltas.Skip(before).Single(d => d.Changes.Any(c => c.ChangeCase == ConfigChange.ChangeOneofCase.TaskRouteRemoved));
        Assert.Equal(two.TaskSubnet, Assert.Single(removal.Changes).TaskRouteRemoved);

        // No ip group served any more: no routes.
        await Api.DeleteRuleAsync(new DeleteRuleRequest { RuleArn = (await Api.DescribeRulesAsync(new DescribeRulesRequest { ListenerArn = listener.ListenerArn }, Host.Admin)).Rules.Single(r => !r.IsDefault).RuleArn }, Host.Admin);
        await replica.WaitForAsync(b => b.TaskRoutes.Count == 0, "the routes removed with the ip group");
        Assert.Empty(replica.Errors);
        Assert.Empty(late.Errors);
    }

    private static RuleAction Forward(string group) =>
        new() { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group } } } };
}

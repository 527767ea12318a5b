using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Networking;

/// <summary>awsvpc on the scheduler's side: cluster task CIDRs, host subnets and peer routes, awsvpc tasks' addresses.</summary>
public sealed class HostNetworkTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512","requiresCompatibilities":["FARGATE"],
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private Task<CreateClusterResponse> CreateAsync(string name, string cidr = "") =>
        Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = name, TaskCidr = cidr }, Host.Admin).ResponseAsync;

    private async Task RegisterAwsvpcAsync() =>
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Awsvpc }, Host.Admin);

    /// <summary>Runs awsvpc tasks spread over the instances (a host gets its network with its first awsvpc task).</summary>
    private async Task<RunTaskResponse> RunAwsvpcAsync(int count, string cluster = "") =>
        await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            Cluster = cluster,
            TaskDefinition = "api",
            Count = count,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
        }, Host.Admin);

    [Fact]
    public async Task CreateCluster_GivenOrPoolCidr_IsShownAndOverlapsAreRefused()
    {
        var apps = await CreateAsync("apps", "10.50.7.9/16");
        var pooled = await CreateAsync("pooled");
        var overlap = await Assert.ThrowsAsync<RpcException>(() => CreateAsync("other", "10.50.128.0/17"));
        var malformed = await Assert.ThrowsAsync<RpcException>(() => CreateAsync("bad", "10.50.0/16"));
        var tooSmall = await Assert.ThrowsAsync<RpcException>(() => CreateAsync("small", "10.60.0.0/26"));
        var changed = await Assert.ThrowsAsync<RpcException>(() => CreateAsync("apps", "10.51.0.0/16"));
        var again = await CreateAsync("apps");

        Assert.Equal("10.50.0.0/16", apps.Cluster.TaskCidr);
        Assert.Equal("10.240.0.0/16", pooled.Cluster.TaskCidr);
        Assert.Equal(StatusCode.InvalidArgument, overlap.StatusCode);
        Assert.Contains("task_cidr: 10.50.128.0/17 overlaps cluster 'apps'", overlap.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.StartsWith("task_cidr:", malformed.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, tooSmall.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, changed.StatusCode);
        Assert.Equal("10.50.0.0/16", again.Cluster.TaskCidr);
        // A refused CIDR created nothing.
        var described = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "other", "bad", "small" } }, Host.Admin);
        Assert.Empty(described.Clusters);
        Assert.Equal(3, described.Failures.Count);
    }

    [Fact]
    public async Task Hosts_GetDisjointSubnetsRoutedToEachOther_AndLoseTheRouteOfADeregisteredPeer()
    {
        await CreateAsync("net", "10.70.0.0/16");
        await using var first = await SimulatedAgent.RegisterAsync(Host, "net");
        await using var second = await SimulatedAgent.RegisterAsync(Host, "net");
        await RegisterAwsvpcAsync();
        await RunAwsvpcAsync(2, "net");

        var one = await first.WaitForDesiredAsync(d => d.HostNetwork?.PeerRoutes.Count == 1, "first host's route to the second");
        var two = await second.WaitForDesiredAsync(d => d.HostNetwork?.PeerRoutes.Count == 1, "second host's route to the first");

        Assert.Equal("10.70.0.0/16", one.HostNetwork.ClusterCidr);
        Assert.Equal(["10.70.0.0/24", "10.70.1.0/24"], new[] { one.HostNetwork.TaskSubnet, two.HostNetwork.TaskSubnet }.Order());
        Assert.Equal(two.HostNetwork.TaskSubnet, one.HostNetwork.PeerRoutes[0].Subnet);
        Assert.Equal(second.InstanceId, one.HostNetwork.PeerRoutes[0].ContainerInstanceId);
        Assert.Equal(one.HostNetwork.TaskSubnet, two.HostNetwork.PeerRoutes[0].Subnet);
        // The session's remote address is the gateway: loopback in this test.
        Assert.Equal("127.0.0.1", one.HostNetwork.PeerRoutes[0].Via);

        await Host.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { Cluster = "net", ContainerInstance = second.InstanceId, Force = true }, Host.Admin);

        var after = await first.WaitForDesiredAsync(d => d.Version > one.Version && d.HostNetwork is { PeerRoutes.Count: 0 }, "route to the deregistered host removed");
        Assert.Equal(one.HostNetwork.TaskSubnet, after.HostNetwork.TaskSubnet);
    }

    [Fact]
    public async Task AHostWithoutATaskSubnet_GetsNoAwsvpcTasks_AndSaysSoInItsAttributes()
    {
        // A /24 cluster CIDR holds one /24 host subnet: the first host to connect takes it, the second gets none.
        await CreateAsync("tiny", "10.60.0.0/24");
        await using var first = await SimulatedAgent.RegisterAsync(Host, "tiny");
        await using var second = await SimulatedAgent.RegisterAsync(Host, "tiny");
        await RegisterAwsvpcAsync();

        // Spread over instanceId would put two on each; the second cannot give them addresses.
        var spread = await RunAwsvpcAsync(4, "tiny");
        var pinned = await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            Cluster = "tiny",
            TaskDefinition = "api",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = $"ec2InstanceId == {second.InstanceId}" } },
        }, Host.Admin);
        // ECS's spelling of the capability names the same attribute.
        var ecsSpelling = await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            Cluster = "tiny",
            TaskDefinition = "api",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:ecs.capability.task-eni exists" } },
        }, Host.Admin);
        var instances = (await Host.Instances.DescribeContainerInstancesAsync(
            new DescribeContainerInstancesRequest { Cluster = "tiny", ContainerInstances = { first.InstanceId, second.InstanceId } }, Host.Admin)).ContainerInstances;

        Assert.Empty(spread.Failures);
        Assert.All(spread.Tasks, t => Assert.Equal(first.InstanceId, t.ContainerInstanceId));
        Assert.Empty(pinned.Tasks);
        Assert.Equal("ATTRIBUTE", Assert.Single(pinned.Failures).Reason);
        Assert.Equal(first.InstanceId, Assert.Single(ecsSpelling.Tasks).ContainerInstanceId);
        Assert.Contains(instances.Single(i => i.ContainerInstanceId == first.InstanceId).Attributes, a => a.Name == "berth.capability.task-eni" && a.Value == "");
        Assert.DoesNotContain(instances.Single(i => i.ContainerInstanceId == second.InstanceId).Attributes, a => a.Name == "berth.capability.task-eni");
        // It is the scheduler's to say: no custom attribute stands in for it.
        var put = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.PutAttributesAsync(new PutAttributesRequest
        {
            Cluster = "tiny",
            Attributes = { new TargetedAttribute { Name = "ecs.capability.task-eni", TargetId = second.InstanceId } },
        }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, put.StatusCode);
    }

    [Fact]
    public async Task Restart_HostsKeepTheirSubnets()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAwsvpcAsync();
        await RunAwsvpcAsync(1);
        var before = (await agent.WaitForDesiredAsync(d => d.HostNetwork is not null, "host network")).HostNetwork;
        await agent.DisposeAsync();

        await RestartAsync();
        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts);
        await using var newcomer = await SimulatedAgent.RegisterAsync(Host);
        // Spread: the one task goes to the newcomer, which has none yet.
        Assert.Equal(newcomer.InstanceId, (await RunAwsvpcAsync(1)).Tasks[0].ContainerInstanceId);

        var resumed = (await back.WaitForDesiredAsync(d => d.HostNetwork?.PeerRoutes.Count == 1, "host network after restart")).HostNetwork;
        var other = (await newcomer.WaitForDesiredAsync(d => d.HostNetwork is not null, "newcomer's host network")).HostNetwork;
        Assert.Equal(before.TaskSubnet, resumed.TaskSubnet);
        Assert.Equal(before.ClusterCidr, resumed.ClusterCidr);
        Assert.NotEqual(before.TaskSubnet, other.TaskSubnet);
    }

    [Fact]
    public async Task AwsvpcTasks_ReserveNoHostPorts_CarryTheirSubnetAndShowTheReportedAddress()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAwsvpcAsync();
        var bridgeOnly = await agent.WaitForDesiredAsync(_ => true, "first desired state");

        // Three copies of a task on container port 8080 fit one host: each has its own address.
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api", Count = 3, LaunchType = "FARGATE" }, Host.Admin);

        Assert.Equal(3, run.Tasks.Count);
        Assert.Empty(run.Failures);
        var desired = await agent.WaitForDesiredAsync(d => d.Tasks.Count == 3, "three tasks");
        // A host without awsvpc tasks is not given a network (its agent would build a bridge, routes and rules).
        Assert.Null(bridgeOnly.HostNetwork);
        var network = desired.HostNetwork;
        Assert.NotNull(network);
        Assert.All(desired.Tasks, t =>
        {
            Assert.Equal(network.TaskSubnet, t.AwsvpcConfiguration.Subnet);
            Assert.Equal("FARGATE", t.LaunchType);
            Assert.Empty(t.PortAssignments);
        });

        var task = run.Tasks[0].TaskId;
        await agent.ReportAndWaitAsync(task, LifecycleStatus.Running, r => r.NetworkAttachment = new TaskNetworkAttachment
        {
            Ipv4Address = "10.240.0.5", Subnet = network.TaskSubnet, Gateway = "10.240.0.1", MacAddress = "0a:58:0a:f0:00:05",
        });
        var described = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task } }, Host.Admin)).Tasks[0];

        var attachment = Assert.Single(described.Attachments);
        Assert.Equal("ElasticNetworkInterface", attachment.Type);
        Assert.Equal("ATTACHED", attachment.Status);
        Assert.Equal("10.240.0.5", attachment.Details.Single(d => d.Name == "privateIPv4Address").Value);
        // subnetId is ECS's: the id of the host's zone's subnet; taskSubnet is the host's task subnet it was given.
        var subnet = Assert.Single((await Host.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest(), Host.Admin)).Subnets);
        Assert.Equal(subnet.SubnetId, attachment.Details.Single(d => d.Name == "subnetId").Value);
        Assert.Equal(network.TaskSubnet, attachment.Details.Single(d => d.Name == "taskSubnet").Value);
    }

    [Fact]
    public async Task Report_AttachmentWithBadAddress_EndsTheSessionNamingTheField()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Awsvpc }, Host.Admin);
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "api" }, Host.Admin)).Tasks[0].TaskId;

        await agent.ReportAsync(task, LifecycleStatus.Running, r => r.NetworkAttachment = new TaskNetworkAttachment { Ipv4Address = "10.240.0.999" });
        var end = await agent.WaitForEndAsync();

        Assert.Equal(StatusCode.InvalidArgument, end.StatusCode);
        Assert.Contains("state_report.tasks[0].network_attachment.ipv4_address", end.Detail, StringComparison.Ordinal);
        var described = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task } }, Host.Admin)).Tasks[0];
        Assert.Empty(described.Attachments);
        Assert.Equal(LifecycleStatus.Pending, described.LastStatus);
    }
}

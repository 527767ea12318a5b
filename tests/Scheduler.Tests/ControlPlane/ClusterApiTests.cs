using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.ControlPlane;

public sealed class ClusterApiTests(ITestOutputHelper output) : SchedulerTest(output)
{
    [Fact]
    public async Task CreateCluster_ThenListAndDescribe_ShowIt()
    {
        var created = await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "prod" }, Host.Admin);

        var list = await Host.Clusters.ListClustersAsync(new ListClustersRequest(), Host.Admin);
        var described = await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "prod", "nope" } }, Host.Admin);

        Assert.Equal("arn:berth:ecs:local:cluster/prod", created.Cluster.Arn);
        Assert.Equal("ACTIVE", created.Cluster.Status);
        Assert.Contains("arn:berth:ecs:local:cluster/prod", list.ClusterArns);
        Assert.Equal("prod", Assert.Single(described.Clusters).Name);
        Assert.Equal("MISSING", Assert.Single(described.Failures).Reason);
    }

    [Fact]
    public async Task CreateCluster_Twice_IsIdempotent()
    {
        var first = await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "x" }, Host.Admin);
        var second = await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "x" }, Host.Admin);

        Assert.Equal(first.Cluster.CreatedAt, second.Cluster.CreatedAt);
    }

    [Fact]
    public async Task CreateCluster_BadName_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "no spaces" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task ListClusters_Paginates()
    {
        foreach (var name in new[] { "a1", "a2", "a3" })
        {
            await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = name }, Host.Admin);
        }

        var first = await Host.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = 2 }, Host.Admin);
        var second = await Host.Clusters.ListClustersAsync(new ListClustersRequest { MaxResults = 2, NextToken = first.NextToken }, Host.Admin);

        Assert.Equal(["arn:berth:ecs:local:cluster/a1", "arn:berth:ecs:local:cluster/a2"], first.ClusterArns);
        Assert.Equal(["arn:berth:ecs:local:cluster/a3"], second.ClusterArns);
        Assert.Equal("", second.NextToken);
    }

    [Fact]
    public async Task DeleteCluster_WithAnInstance_IsFailedPrecondition_ThenSucceedsWhenEmpty()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host, "busy", connect: false);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "busy" }, Host.Admin).ResponseAsync);
        await Host.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { Cluster = "busy", ContainerInstance = agent.InstanceId }, Host.Admin);
        var deleted = await Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "arn:berth:ecs:local:cluster/busy" }, Host.Admin);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal("INACTIVE", deleted.Cluster.Status);
        var list = await Host.Clusters.ListClustersAsync(new ListClustersRequest(), Host.Admin);
        Assert.DoesNotContain("arn:berth:ecs:local:cluster/busy", list.ClusterArns);
    }

    [Fact]
    public async Task DeleteCluster_Unknown_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = "ghost" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task DescribeCluster_CountsInstancesAndTasks()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "counted" }, Host.Admin);
        await using var agent = await SimulatedAgent.RegisterAsync(Host, "counted");
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "counted", TaskDefinition = "web", Count = 2 }, Host.Admin);
        await agent.ReportAndWaitAsync(run.Tasks[0].TaskId, LifecycleStatus.Running);

        var cluster = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "counted" } }, Host.Admin)).Clusters[0];

        Assert.Equal(1, cluster.RegisteredContainerInstancesCount);
        Assert.Equal(1, cluster.RunningTasksCount);
        Assert.Equal(1, cluster.PendingTasksCount);
    }
}

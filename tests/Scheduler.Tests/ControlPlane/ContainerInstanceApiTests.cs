using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.ControlPlane;

public sealed class ContainerInstanceApiTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private async Task<ContainerInstance> DescribeAsync(string id) =>
        (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { id } }, Host.Admin)).ContainerInstances.Single();

    [Fact]
    public async Task RegisteredInstance_HasResourcesBuiltInAttributesAndConnection()
    {
        var facts = SimulatedAgent.DefaultFacts(zone: "eu-1a", cpu: 4096, memory: 8192);
        facts.Attributes.Add(new InstanceAttribute { Name = "ecs.custom-tier", Value = "gold" });
        await using var agent = await SimulatedAgent.RegisterAsync(Host, facts: facts);

        var instance = await DescribeAsync(agent.InstanceId);
        var attributes = instance.Attributes.ToDictionary(a => a.Name, a => a.Value);

        Assert.Equal(ContainerInstanceStatus.Active, instance.Status);
        Assert.True(instance.AgentConnected);
        Assert.Equal(4096, instance.RegisteredResources.Cpu);
        Assert.Equal(8192, instance.RemainingResources.Memory);
        Assert.Contains(22, instance.RegisteredResources.Ports);
        Assert.Equal("eu-1a", attributes["berth.zone"]);
        Assert.Equal("linux", attributes["berth.os-type"]);
        Assert.Equal("x86_64", attributes["berth.cpu-architecture"]);
        Assert.Equal("sim.large", attributes["berth.instance-type"]);
        Assert.Equal("gold", attributes["berth.custom-tier"]);
        Assert.Equal("0.1.0", instance.AgentVersion);
    }

    [Fact]
    public async Task AgentDisconnect_ShowsAgentConnectedFalse()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        await agent.DisconnectAsync();
        await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(async () => !(await DescribeAsync(agent.InstanceId)).AgentConnected, what: "agentConnected false");

        Assert.False((await DescribeAsync(agent.InstanceId)).AgentConnected);
    }

    [Fact]
    public async Task List_FiltersByStatusAndQuery()
    {
        await using var a = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: "z1"));
        await using var b = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: "z2"));
        await Host.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { ContainerInstances = { b.InstanceId }, Status = ContainerInstanceStatus.Draining }, Host.Admin);

        var all = await Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest(), Host.Admin);
        var draining = await Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Status = "DRAINING" }, Host.Admin);
        var zone1 = await Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Filter = "attribute:ecs.availability-zone == z1" }, Host.Admin);

        Assert.Equal(2, all.ContainerInstanceArns.Count);
        Assert.Equal(b.Registration.ContainerInstanceArn, Assert.Single(draining.ContainerInstanceArns));
        Assert.Equal(a.Registration.ContainerInstanceArn, Assert.Single(zone1.ContainerInstanceArns));
    }

    [Fact]
    public async Task List_BadFilter_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Filter = "attribute:x ==" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task PutAndDeleteAttributes_ChangeTheInstance()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        await Host.Instances.PutAttributesAsync(new PutAttributesRequest { Attributes = { new TargetedAttribute { Name = "stack", Value = "blue", TargetId = agent.Registration.ContainerInstanceArn } } }, Host.Admin);
        var withIt = await DescribeAsync(agent.InstanceId);
        await Host.Instances.DeleteAttributesAsync(new DeleteAttributesRequest { Attributes = { new TargetedAttribute { Name = "stack", TargetId = agent.InstanceId } } }, Host.Admin);
        var without = await DescribeAsync(agent.InstanceId);

        Assert.Contains(withIt.Attributes, a => a.Name == "stack" && a.Value == "blue");
        Assert.DoesNotContain(without.Attributes, a => a.Name == "stack");
    }

    [Theory]
    [InlineData("berth.zone")]
    [InlineData("ecs.availability-zone")]
    public async Task PutAttributes_BuiltIn_IsInvalidArgument(string name)
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.PutAttributesAsync(new PutAttributesRequest { Attributes = { new TargetedAttribute { Name = name, Value = "x", TargetId = agent.InstanceId } } }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task PutAttributes_UnknownTarget_IsNotFound()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest(), Host.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.PutAttributesAsync(new PutAttributesRequest { Attributes = { new TargetedAttribute { Name = "a", Value = "x", TargetId = "0123" } } }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task Draining_TakesNoNewTasks_AndTheAgentIsTold()
    {
        await using var a = await SimulatedAgent.RegisterAsync(Host);
        await using var b = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);

        var update = await Host.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { ContainerInstances = { a.InstanceId, "missing" }, Status = ContainerInstanceStatus.Draining }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4 }, Host.Admin);

        Assert.Equal(ContainerInstanceStatus.Draining, Assert.Single(update.ContainerInstances).Status);
        Assert.Equal("MISSING", Assert.Single(update.Failures).Reason);
        Assert.All(run.Tasks, t => Assert.Equal(b.InstanceId, t.ContainerInstanceId));
        await a.WaitForDesiredAsync(d => d.InstanceStatus == ContainerInstanceStatus.Draining, "DRAINING desired state");
    }

    [Fact]
    public async Task UpdateState_ToInactive_IsInvalidArgument()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { ContainerInstances = { agent.InstanceId }, Status = ContainerInstanceStatus.Inactive }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task Deregister_WithTasks_NeedsForce_ThenStopsThemAndRevokesTheCredential()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web" }, Host.Admin);

        var refused = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { ContainerInstance = agent.InstanceId }, Host.Admin).ResponseAsync);
        var forced = await Host.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { ContainerInstance = agent.InstanceId, Force = true }, Host.Admin);
        var task = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { run.Tasks[0].TaskArn } }, Host.Admin)).Tasks[0];

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal(ContainerInstanceStatus.Inactive, forced.ContainerInstance.Status);
        Assert.Equal(LifecycleStatus.Stopped, task.LastStatus);
        Assert.Equal(StopCode.TerminationNotice, task.StopCode);
        // The agent is told, then its session ends; its credential no longer opens one.
        await agent.WaitForDesiredAsync(d => d.InstanceStatus == ContainerInstanceStatus.Inactive && d.Tasks.Count == 0, "INACTIVE desired state");
        await using var again = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts);
        Assert.Equal(StatusCode.Unauthenticated, (await again.WaitForEndAsync()).StatusCode);
    }

    [Fact]
    public async Task Describe_Unknown_IsAFailure()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest(), Host.Admin);

        var described = await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { "nope" } }, Host.Admin);

        Assert.Empty(described.ContainerInstances);
        Assert.Equal("MISSING", Assert.Single(described.Failures).Reason);
    }

    [Fact]
    public async Task List_UnknownCluster_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "ghost" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }
}

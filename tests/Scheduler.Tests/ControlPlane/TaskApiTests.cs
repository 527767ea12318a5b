using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.ControlPlane;

public sealed class TaskApiTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private async Task RegisterAsync(string json) =>
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, Host.Admin);

    private Task<RunTaskResponse> RunAsync(RunTaskRequest request) => Host.Tasks.RunTaskAsync(request, Host.Admin).ResponseAsync;

    [Fact]
    public async Task RunTask_PlacesPendingTasksWithDynamicPortsAndContainers()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var run = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, StartedBy = "me" });

        Assert.Equal(3, run.Tasks.Count);
        Assert.Empty(run.Failures);
        Assert.All(run.Tasks, t =>
        {
            Assert.Equal(agent.InstanceId, t.ContainerInstanceId);
            Assert.Equal(LifecycleStatus.Running, t.DesiredStatus);
            Assert.Equal(LifecycleStatus.Pending, t.LastStatus);
            Assert.Equal("family:web", t.Group);
            Assert.Equal("me", t.StartedBy);
            Assert.Equal(256, t.Cpu);
            Assert.Equal(512, t.Memory);
            var binding = Assert.Single(Assert.Single(t.Containers).NetworkBindings);
            Assert.Equal(80, binding.ContainerPort);
            Assert.InRange(binding.HostPort, 49153, 65535);
        });
        Assert.Equal(3, run.Tasks.Select(t => t.Containers[0].NetworkBindings[0].HostPort).Distinct().Count());
        var instance = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances[0];
        Assert.Equal(2048 - (3 * 256), instance.RemainingResources.Cpu);
        Assert.Equal(4096 - (3 * 512), instance.RemainingResources.Memory);
    }

    [Fact]
    public async Task RunTask_NotEnoughMemory_ReturnsEcsFailures()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(memory: 1024));
        await RegisterAsync(TaskDefinitionSamples.Web(memory: 512));

        var run = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3 });

        Assert.Equal(2, run.Tasks.Count);
        var failure = Assert.Single(run.Failures);
        Assert.Equal("RESOURCE:MEMORY", failure.Reason);
    }

    [Fact]
    public async Task RunTask_StaticPortTaken_ReturnsResourcePorts()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web(hostPort: 8080));

        var run = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 });

        Assert.Equal(8080, Assert.Single(run.Tasks).Containers[0].NetworkBindings[0].HostPort);
        Assert.Equal("RESOURCE:PORTS", Assert.Single(run.Failures).Reason);
    }

    [Fact]
    public async Task AStoppedTask_ListsNoHostPorts_AndTheNextTaskGetsThePort()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web(hostPort: 8080));
        var first = Assert.Single((await RunAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks);
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == first.TaskId), "the task");
        await agent.ReportAndWaitAsync(first.TaskId, LifecycleStatus.Running);

        await agent.ReportAndWaitAsync(first.TaskId, LifecycleStatus.Stopped);

        var stopped = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { first.TaskId } }, Host.Admin)).Tasks.Single();
        Assert.Equal(LifecycleStatus.Stopped, stopped.LastStatus);
        Assert.Empty(stopped.Containers.SelectMany(c => c.NetworkBindings));
        var next = Assert.Single((await RunAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks);
        Assert.Equal(8080, next.Containers[0].NetworkBindings[0].HostPort);
    }

    [Fact]
    public async Task RunTask_ConstraintNoInstanceMatches_ReturnsAttribute()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var run = await RunAsync(new RunTaskRequest
        {
            TaskDefinition = "web",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:berth.zone == mars" } },
        });

        Assert.Empty(run.Tasks);
        Assert.Equal("ATTRIBUTE", Assert.Single(run.Failures).Reason);
    }

    [Fact]
    public async Task RunTask_SpreadAndDistinctInstance_AreHonoured()
    {
        await using var a = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: "z1"));
        await using var b = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(zone: "z2"));
        await RegisterAsync(TaskDefinitionSamples.Web());

        var spread = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4, PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:ecs.availability-zone" } } });
        var distinct = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 3, Group = "solo", PlacementConstraints = { new PlacementConstraint { Type = "distinctInstance" } } });

        Assert.Equal(2, spread.Tasks.Count(t => t.ContainerInstanceId == a.InstanceId));
        Assert.Equal(2, spread.Tasks.Count(t => t.ContainerInstanceId == b.InstanceId));
        Assert.Equal(2, distinct.Tasks.Count);
        Assert.NotEqual(distinct.Tasks[0].ContainerInstanceId, distinct.Tasks[1].ContainerInstanceId);
        Assert.Single(distinct.Failures);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(-1)]
    public async Task RunTask_BadCount_IsInvalidArgument(int count)
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var e = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = count }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task RunTask_BadStrategyOrConstraint_IsInvalidArgument()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var strategy = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { TaskDefinition = "web", PlacementStrategy = { new PlacementStrategy { Type = "binpack", Field = "disk" } } }));
        var constraint = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { TaskDefinition = "web", PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:x in [" } } }));

        Assert.Equal(StatusCode.InvalidArgument, strategy.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, constraint.StatusCode);
    }

    [Fact]
    public async Task RunTask_UnknownClusterOrDefinition_IsNotFound()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var cluster = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { Cluster = "ghost", TaskDefinition = "web" }));
        var definition = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { TaskDefinition = "ghost" }));

        Assert.Equal(StatusCode.NotFound, cluster.StatusCode);
        Assert.Equal(StatusCode.NotFound, definition.StatusCode);
    }

    [Fact]
    public async Task RunTask_ClusterWithoutInstances_IsFailedPrecondition()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest(), Host.Admin);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var e = await Assert.ThrowsAsync<RpcException>(() => RunAsync(new RunTaskRequest { TaskDefinition = "web" }));

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    [Fact]
    public async Task RunTask_SameClientToken_StartsNothingNew()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var first = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, ClientToken = "abc" });
        var retry = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, ClientToken = "abc" });
        var all = await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin);

        Assert.Equal(first.Tasks.Select(t => t.TaskId).Order(), retry.Tasks.Select(t => t.TaskId).Order());
        Assert.Equal(2, all.TaskArns.Count);
    }

    [Fact]
    public async Task RunTask_Overrides_ReachTheTaskAndTheAgent()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());
        var overrides = new TaskOverride { ContainerOverrides = { new ContainerOverride { Name = "web", Command = { "serve", "--fast" }, CommandSet = true, Environment = { new EnvironmentVariable { Name = "MODE", Value = "debug" } } } } };

        var run = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Overrides = overrides });
        var desired = await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == run.Tasks[0].TaskId));

        Assert.Equal(overrides, run.Tasks[0].Overrides);
        Assert.Equal(overrides, desired.Tasks.Single().Overrides);
    }

    [Fact]
    public async Task ConcurrentRunTasks_NeverOvercommit()
    {
        // Two instances with room for 4 tasks each; 30 concurrent RunTask calls of 1 task.
        await using var a = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(memory: 2048));
        await using var b = await SimulatedAgent.RegisterAsync(Host, facts: SimulatedAgent.DefaultFacts(memory: 2048));
        await RegisterAsync(TaskDefinitionSamples.Web(memory: 512));

        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => RunAsync(new RunTaskRequest { TaskDefinition = "web" }))));

        Assert.Equal(8, results.Sum(r => r.Tasks.Count));
        Assert.Equal(22, results.Sum(r => r.Failures.Count));
        var instances = await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { a.InstanceId, b.InstanceId } }, Host.Admin);
        Assert.All(instances.ContainerInstances, i => Assert.Equal(0, i.RemainingResources.Memory));
    }

    [Fact]
    public async Task StopTask_SetsDesiredStopped_IsIdempotent_AndReleasesResourcesWhenStopped()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());
        var task = (await RunAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];

        var stopped = await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn, Reason = "scale down" }, Host.Admin);
        var again = await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskId, Reason = "other" }, Host.Admin);

        Assert.Equal(LifecycleStatus.Stopped, stopped.Task.DesiredStatus);
        Assert.Equal(StopCode.UserInitiated, stopped.Task.StopCode);
        Assert.Equal("scale down", again.Task.StoppedReason);
        Assert.NotNull(stopped.Task.StoppingAt);
        var held = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances[0];
        Assert.Equal(4096 - 512, held.RemainingResources.Memory);

        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Stopped, r => r.Containers.Add(new ContainerReport { Name = "web", LastStatus = LifecycleStatus.Stopped, ExitCode = 0 }));
        var released = (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { agent.InstanceId } }, Host.Admin)).ContainerInstances[0];
        Assert.Equal(4096, released.RemainingResources.Memory);
    }

    [Fact]
    public async Task StopTask_Unknown_IsNotFound()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest(), Host.Admin);

        var e = await Assert.ThrowsAsync<RpcException>(() => Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = "nope" }, Host.Admin).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task DescribeTasks_MissingOnesAreFailures()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web());
        var task = (await RunAsync(new RunTaskRequest { TaskDefinition = "web" })).Tasks[0];

        var described = await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task.TaskArn, "missing" } }, Host.Admin);

        Assert.Equal(task.TaskId, Assert.Single(described.Tasks).TaskId);
        Assert.Equal("MISSING", Assert.Single(described.Failures).Reason);
    }

    [Fact]
    public async Task ListTasks_Filters()
    {
        await using var a = await SimulatedAgent.RegisterAsync(Host);
        await using var b = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web("web"));
        await RegisterAsync(TaskDefinitionSamples.Web("api"));
        var web = await RunAsync(new RunTaskRequest { TaskDefinition = "web", Count = 4, StartedBy = "ci" });
        var api = await RunAsync(new RunTaskRequest { TaskDefinition = "api", Count = 2 });
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = api.Tasks[0].TaskId }, Host.Admin);

        ListTasksResponse List(ListTasksRequest r) => Host.Tasks.ListTasks(r, Host.Admin);
        var running = List(new ListTasksRequest());
        var byFamily = List(new ListTasksRequest { Family = "api" });
        var byStartedBy = List(new ListTasksRequest { StartedBy = "ci" });
        var stopped = List(new ListTasksRequest { DesiredStatus = LifecycleStatus.Stopped });
        var onA = List(new ListTasksRequest { ContainerInstance = a.Registration.ContainerInstanceArn });
        var paged = List(new ListTasksRequest { MaxResults = 2 });

        Assert.Equal(5, running.TaskArns.Count);
        Assert.Equal(api.Tasks[1].TaskArn, Assert.Single(byFamily.TaskArns));
        Assert.Equal(web.Tasks.Select(t => t.TaskArn).Order(), byStartedBy.TaskArns.Order());
        Assert.Equal(api.Tasks[0].TaskArn, Assert.Single(stopped.TaskArns));
        Assert.Equal(web.Tasks.Concat(api.Tasks.Skip(1)).Count(t => t.ContainerInstanceId == a.InstanceId), onA.TaskArns.Count);
        Assert.Equal(2, paged.TaskArns.Count);
        Assert.NotEqual("", paged.NextToken);
    }
}

using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

// Instances joining, draining and getting lost under services.
public sealed class InstanceChangeTests(ITestOutputHelper output) : ServiceTest(output)
{
    private Task<UpdateContainerInstancesStateResponse> DrainAsync(string instanceId) =>
        Host.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { ContainerInstances = { instanceId }, Status = ContainerInstanceStatus.Draining }, Host.Admin).ResponseAsync;

    [Fact]
    public async Task Daemon_RunsOnePerMatchingInstance_FollowsAJoiningInstance_AndLeavesADrainingOne()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        var excluded = await StartAgentAsync("zone-x");
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "logs",
            TaskDefinition = "worker",
            SchedulingStrategy = SchedulingStrategy.Daemon,
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:berth.zone != zone-x" } },
        });
        var steady = await WaitForServiceAsync("logs", s => Steady(s) && s.DesiredCount == 2, "one task on each of the two matching instances");
        Assert.Equal(new[] { a.Agent.InstanceId, b.Agent.InstanceId }.Order(), (await TasksAsync("logs")).Select(t => t.ContainerInstanceId).Order());
        Assert.Empty(excluded.Running());
        Assert.Equal(2, steady.RunningCount);

        var joined = await StartAgentAsync("zone-c");
        await WaitForServiceAsync("logs", s => Steady(s) && s.DesiredCount == 3, "the joining instance gets its task");
        Assert.Single(joined.Running());

        await DrainAsync(a.Agent.InstanceId);
        var drained = await WaitForServiceAsync("logs", s => Steady(s) && s.DesiredCount == 2 && s.RunningCount == 2 && a.Running().Count == 0, "the draining instance's task stopped");
        var byInstance = (await TasksAsync("logs")).Select(t => t.ContainerInstanceId).ToList();

        Assert.DoesNotContain(a.Agent.InstanceId, byInstance);
        Assert.Empty(a.Running());
        Assert.Equal(2, drained.Deployments[0].DesiredCount);
    }

    [Fact]
    public async Task Drain_ReplacesServiceTasksElsewhereFirst_WithinMinimumHealthy_AndLeavesStandaloneTasks()
    {
        var a = await StartAgentAsync("zone-a");
        await StartAgentAsync("zone-b");
        await StartAgentAsync("zone-c");
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await RegisterAsync(TaskDefinitionSamples.Worker(family: "batch"));
        var standalone = (await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "batch",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = "attribute:berth.zone == zone-a" } },
        }, Host.Admin)).Tasks[0];
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker",
            DesiredCount = 3,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
        });
        await WaitForServiceAsync("web", Steady, "steady");
        var onA = (await TasksAsync("web")).Single(t => t.ContainerInstanceId == a.Agent.InstanceId);

        IReadOnlyList<string> ServiceHealthy() => [.. RunningHealthy().Where(id => id != standalone.TaskId)];
        RunningSampler sampler;
        ServiceInfo moved;
        await using (sampler = new RunningSampler(ServiceHealthy, Running))
        {
            await DrainAsync(a.Agent.InstanceId);
            moved = await WaitForServiceAsync("web", s => Steady(s) && s.Events.Any(e => e.Message.Contains("has stopped 1 running tasks", StringComparison.Ordinal)) && a.Running().Count == 1, "the task moved");
        }

        var tasks = await TasksAsync("web");
        var stoppedTask = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { onA.TaskId } }, Host.Admin)).Tasks[0];
        var standaloneNow = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { standalone.TaskId } }, Host.Admin)).Tasks[0];

        Assert.Equal(3, tasks.Count);
        Assert.DoesNotContain(tasks, t => t.ContainerInstanceId == a.Agent.InstanceId);
        Assert.Equal(StopCode.ServiceSchedulerInitiated, stoppedTask.StopCode);
        Assert.True(sampler.MinHealthy >= 3, $"healthy dropped to {sampler.MinHealthy}");
        Assert.Contains(moved.Events, e => e.Message == "(service web) has begun draining connections on 1 tasks.");
        Assert.Equal(LifecycleStatus.Running, standaloneNow.DesiredStatus);
        Assert.Equal([standalone.TaskId], a.Running());
    }

    [Theory]
    [InlineData(ReconnectPolicy.KeepReplacement)]
    [InlineData(ReconnectPolicy.KeepOriginal)]
    public async Task LostHost_TasksUnknownAreReplaced_AndOnReconnectTheSurplusGoesByPolicy(ReconnectPolicy policy)
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker",
            DesiredCount = 2,
            ReconnectPolicy = policy,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
        });
        await WaitForServiceAsync("web", Steady, "steady");
        var original = (await TasksAsync("web")).Single(t => t.ContainerInstanceId == a.Agent.InstanceId);

        // The host goes silent; after the grace period lost-host detection marks its tasks UNKNOWN.
        await StopAgentAsync(a);
        var replaced = await WaitForServiceAsync("web", s => s.RunningCount == 2 && b.Running().Count == 2, "a replacement running on the other host");
        var replacement = (await TasksAsync("web")).Where(t => t.ContainerInstanceId == b.Agent.InstanceId).MaxBy(t => t.CreatedAt)!;
        Assert.True(replacement.CreatedAt > original.CreatedAt);
        Assert.Equal(LifecycleStatus.Unknown, (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { original.TaskId } }, Host.Admin)).Tasks[0].LastStatus);
        Assert.Equal(2, replaced.RunningCount); // the UNKNOWN task does not count

        // The host comes back, still running the original task.
        var back = await ResumeAgentAsync(a, [original.TaskId]);
        await WaitForServiceAsync("web", s => Steady(s) && Running().Count == 2, "no duplicate left");
        var survivors = (await TasksAsync("web")).Select(t => t.TaskId).ToList();

        Assert.Equal(2, survivors.Count);
        if (policy == ReconnectPolicy.KeepOriginal)
        {
            Assert.Contains(original.TaskId, survivors);
            Assert.DoesNotContain(replacement.TaskId, survivors);
            Assert.Equal([original.TaskId], back.Running());
        }
        else
        {
            Assert.DoesNotContain(original.TaskId, survivors);
            Assert.Contains(replacement.TaskId, survivors);
            Assert.Empty(back.Running());
        }

        Assert.Equal(2, Running().Count);
    }
}

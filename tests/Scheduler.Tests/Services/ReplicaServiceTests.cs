using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

public sealed class ReplicaServiceTests(ITestOutputHelper output) : ServiceTest(output)
{
    // The restart test stops its agent, restarts the scheduler and brings the agent back: with ServiceTest's 1 s grace
    // a loaded CI run (2026-12-05) declared the host lost before the agent was back and replaced its three tasks. No
    // test here needs a lost host.
    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings!)
    {
        ["Scheduler:LostHostGracePeriod"] = "00:01:00",
    };

    [Fact]
    public async Task Replica_ScalesUpSpreadOverZones_ReachesSteadyState_ThenScalesDown()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(TaskDefinitionSamples.Worker());

        var created = await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker",
            DesiredCount = 4,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
        });
        var steady = await WaitForServiceAsync("web", Steady, "4 running, deployment completed");
        var tasks = await TasksAsync("web");

        Assert.Equal(4, steady.RunningCount);
        Assert.Equal(4, steady.Deployments[0].RunningCount);
        Assert.Equal(4, tasks.Count);
        Assert.All(tasks, t =>
        {
            Assert.Equal("service:web", t.Group);
            Assert.Equal(created.Deployments[0].Id, t.StartedBy);
        });
        Assert.Equal(2, tasks.Count(t => t.ContainerInstanceId == a.Agent.InstanceId));
        Assert.Equal(2, tasks.Count(t => t.ContainerInstanceId == b.Agent.InstanceId));
        var messages = steady.Events.Select(e => e.Message).ToList();
        Assert.Contains(messages, m => m.StartsWith("(service web) has started 4 tasks: (task ", StringComparison.Ordinal));
        Assert.Contains("(service web) has reached a steady state.", messages);
        Assert.Contains($"(service web) (deployment {created.Deployments[0].Id}) deployment completed.", messages);

        await UpdateAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 1 });
        var scaledDown = await WaitForServiceAsync("web", s => Steady(s) && s.RunningCount == 1 && s.Events[0].Message.EndsWith("steady state.", StringComparison.Ordinal), "1 running and steady again");
        var stopped = await TasksAsync("web", LifecycleStatus.Stopped);

        Assert.Equal(3, stopped.Count);
        Assert.All(stopped, t => Assert.Equal(StopCode.ServiceSchedulerInitiated, t.StopCode));
        Assert.Contains(scaledDown.Events, e => e.Message.StartsWith("(service web) has stopped 3 running tasks: ", StringComparison.Ordinal));
        Assert.Single(Running());
    }

    [Fact]
    public async Task Replica_ReplacesATaskWhoseEssentialContainerExited_AndCountsTheFailure()
    {
        var a = await StartAgentAsync();
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "worker", DesiredCount = 2 });
        await WaitForServiceAsync("web", Steady, "steady");
        var victim = (await TasksAsync("web"))[0];

        // The host reports the task's essential container exited, without the scheduler asking.
        await a.Agent.ReportAsync(victim.TaskId, LifecycleStatus.Stopped, r => r.StopCode = StopCode.EssentialContainerExited);
        var recovered = await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].FailedTasks == 1 && s.RunningCount == 2, "a replacement running");
        var running = await TasksAsync("web");

        Assert.DoesNotContain(running, t => t.TaskId == victim.TaskId);
        Assert.Equal(2, running.Count);
        Assert.Equal(2, recovered.RunningCount);

        // A task a user stops is replaced too, but it is no failure of the deployment.
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = running[0].TaskId }, Host.Admin);
        await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(
            async () => (await TasksAsync("web")) is { Count: 2 } now && now.All(t => t.LastStatus == LifecycleStatus.Running && t.TaskId != running[0].TaskId),
            TimeSpan.FromSeconds(30), "a replacement of the user-stopped task running");
        var afterUserStop = await WaitForServiceAsync("web", Steady, "steady");

        Assert.Equal(1, afterUserStop.Deployments[0].FailedTasks);
    }

    [Fact]
    public async Task Replica_UnableToPlace_WritesTheEcsEventOnce()
    {
        var a = await StartAgentAsync(memory: 300);
        await RegisterAsync(TaskDefinitionSamples.Worker(memory: 128));

        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "worker", DesiredCount = 3 });
        var service = await WaitForEventAsync("web", "insufficient memory");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // several more passes, each unable to place the third task
        service = await DescribeAsync("web");

        var expected = $"(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance {a.Agent.InstanceId}) has insufficient memory available. For more information, see the Troubleshooting section of docs/services.md.";
        Assert.Single(service.Events, e => e.Message == expected);
        Assert.Equal(2, (await TasksAsync("web")).Count);
        Assert.Equal("IN_PROGRESS", service.Deployments[0].RolloutState);
    }

    [Fact]
    public async Task Restart_KeepsServicesDeploymentsEventsAndTasks_AndStartsNothingNew()
    {
        var a = await StartAgentAsync();
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "worker", DesiredCount = 3 });
        var before = await WaitForServiceAsync("web", Steady, "steady");
        var tasksBefore = (await TasksAsync("web")).Select(t => t.TaskId).Order().ToList();
        await StopAgentAsync(a);

        await RestartAsync();
        var resumed = await ResumeAgentAsync(a, tasksBefore);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // several reconcile passes
        var after = await WaitForServiceAsync("web", Steady, "steady after the restart");
        var tasksAfter = (await TasksAsync("web")).Select(t => t.TaskId).Order().ToList();

        Assert.Equal(tasksBefore, tasksAfter);
        Assert.Equal(before.Deployments[0].Id, after.Deployments[0].Id);
        Assert.Equal("COMPLETED", after.Deployments[0].RolloutState);
        Assert.Equal(3, after.DesiredCount);
        Assert.True(after.Events.Count >= before.Events.Count);
        Assert.Equal(before.Events.Last().Message, after.Events.Last().Message);
        Assert.Equal(3, resumed.Running().Count);
    }
}

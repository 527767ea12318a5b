using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

/// <summary>
/// <c>healthCheckGracePeriodSeconds</c> on a fake clock: an UNHEALTHY report inside the grace period is ignored, one
/// after it replaces the task. On the real clock this needed a sleep "well inside" a 3 s period, which a loaded machine
/// could overrun.
/// </summary>
public sealed class HealthGracePeriodTests(ITestOutputHelper output) : FakeClockServiceTest(output, new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero))
{
    [Fact]
    public async Task UnhealthyTask_IsKeptDuringTheGracePeriod_ThenReplacedAndCountedAsFailed()
    {
        var a = await StartAgentAsync(reportHealth: true);
        a.Behaviour = _ => TaskOutcome.Unhealthy;
        await RegisterAsync(TaskDefinitionSamples.Worker(healthCheck: true));
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "worker", DesiredCount = 1, HealthCheckGracePeriodSeconds = 3 });
        await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(() => Task.FromResult(a.Running().Count == 1), TimeSpan.FromSeconds(20), "the task running");
        var first = Assert.Single(await TasksAsync("web"));
        await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(
            async () => (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { first.TaskId } }, Host.Admin)).Tasks[0].HealthStatus == HealthStatus.Unhealthy,
            TimeSpan.FromSeconds(20), "the task reported unhealthy");

        // Two simulated seconds in, past any reconcile interval but inside the 3 s grace period: UNHEALTHY is ignored.
        Clock.Advance(TimeSpan.FromSeconds(2));
        await WaitForServiceAsync("web", s => s.RunningCount == 1, "a pass inside the grace period");
        var during = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { first.TaskId } }, Host.Admin)).Tasks[0];
        Assert.Equal((LifecycleStatus.Running, HealthStatus.Unhealthy), (during.DesiredStatus, during.HealthStatus));

        // Past the grace period the next pass replaces it and counts it as failed.
        Clock.Advance(TimeSpan.FromSeconds(2));
        var replaced = await WaitForEventAsync("web", $"(service web) (task {first.TaskId}) failed container health checks.");
        var after = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { first.TaskId } }, Host.Admin)).Tasks[0];
        Assert.Equal(LifecycleStatus.Stopped, after.DesiredStatus);
        Assert.Equal("Task failed container health checks", after.StoppedReason);
        Assert.True(after.StoppingAt.ToDateTimeOffset() - after.StartedAt.ToDateTimeOffset() >= TimeSpan.FromSeconds(3));
        Assert.True(replaced.Deployments[0].FailedTasks >= 1);
    }
}

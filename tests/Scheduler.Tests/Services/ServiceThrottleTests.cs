using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

/// <summary>The service launch throttle on a fake clock: a service whose image does not exist, for five simulated minutes.</summary>
public sealed class ServiceThrottleTests(ITestOutputHelper output) : FakeClockServiceTest(output, DateTimeOffset.UtcNow)
{
    [Fact]
    public async Task FailingTasks_BackOffExponentially_StateTheCause_SurviveARestart_AndAGoodDeploymentStartsAtOnce()
    {
        var agent = await StartAgentAsync();
        var bad = await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/missing:1"));
        var good = await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/worker:2"));
        agent.Behaviour = t => t.TaskDefinitionArn == bad.Arn ? TaskOutcome.FailsToStart : TaskOutcome.Healthy;
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = bad.Arn, DesiredCount = 2 });

        // Each round: wait until the scheduler is quiet (throttled, every launched task failed), then move the clock to
        // the end of the wait. Without the throttle a pass every 200 ms would launch two tasks: 3,000 in five minutes.
        var start = Clock.GetUtcNow();
        var waits = new List<TimeSpan>();
        ServiceInfo service;
        while (true)
        {
            service = await WaitForServiceAsync("web", s => s.Throttle is { RetryAt: not null } t && t.RetryAt.ToDateTimeOffset() > Clock.GetUtcNow()
                && s.RunningCount == 0 && s.PendingCount == 0, "throttled with every launched task failed");
            var retryAt = service.Throttle.RetryAt.ToDateTimeOffset();
            waits.Add(retryAt - Clock.GetUtcNow());
            if (retryAt - start > TimeSpan.FromMinutes(5))
            {
                break;
            }

            Clock.Advance(retryAt - Clock.GetUtcNow() + TimeSpan.FromMilliseconds(500));
        }

        var launched = service.Deployments[0].FailedTasks;
        Output.WriteLine($"{launched} tasks launched in {(Clock.GetUtcNow() - start).TotalSeconds:0} simulated s; waits {string.Join(", ", waits.Select(w => $"{w.TotalSeconds:0.0}s"))}");
        Assert.InRange(launched, 6, 36);
        // Each wait at least doubles the lower bound of the one before (10 s doubling, jittered down by up to half).
        for (var i = 0; i < waits.Count; i++)
        {
            var full = TimeSpan.FromSeconds(Math.Min(10 * Math.Pow(2, i), 900));
            Assert.InRange(waits[i], full / 2 - TimeSpan.FromSeconds(1), full + TimeSpan.FromSeconds(1));
        }

        Assert.Contains("failed to start in the last", service.Throttle.Message, StringComparison.Ordinal);
        Assert.Contains("CannotPullContainerError: pull access denied for registry.local/missing", service.Throttle.Message, StringComparison.Ordinal);
        Assert.Contains(service.Events, e => e.Message.StartsWith("(service web) is unable to consistently start tasks successfully; retrying in ", StringComparison.Ordinal)
            && e.Message.Contains("Troubleshooting section of docs/services.md", StringComparison.Ordinal));
        Assert.Contains(service.Events, e => e.Message.StartsWith("(service web) ", StringComparison.Ordinal) && e.Message.Contains(" tasks failed to start in the last ", StringComparison.Ordinal));

        // A restart keeps the wait: the failing service does not start again at full speed.
        await StopAgentAsync(agent);
        await RestartAsync();
        var restarted = await DescribeAsync("web");
        Assert.Equal(service.Throttle.RetryAt, restarted.Throttle.RetryAt);
        Assert.Equal(launched, restarted.Deployments[0].FailedTasks);

        // A good deployment starts at once, without moving the clock past the wait.
        await StartAgentAsync("zone-b");
        var updated = await UpdateAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = good.Arn });
        var steady = await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].Id == updated.Deployments[0].Id, "the good deployment steady");
        Assert.True(Clock.GetUtcNow() < restarted.Throttle.RetryAt.ToDateTimeOffset(), "the clock did not pass the wait");
        Assert.Null(steady.Throttle);
        Assert.Equal(2, RunningHealthy().Count);
    }

    [Fact]
    public async Task TheOldDeploymentsTasksFailingAfterAnUpdate_DoNotThrottleTheNewDeployment()
    {
        // The tasks of the deployment being replaced keep running until the new ones are healthy (minimumHealthyPercent
        // 100), and may crash meanwhile. Those failures are the old revision's: they must not hold back, or fail the
        // `--wait` of, the deployment that replaces it (DescribeServices' throttle is what `--wait` reads).
        var agent = await StartAgentAsync();
        var crashing = await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/worker:1"));
        var fixedRevision = await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/worker:2"));
        var release = false;
        agent.Behaviour = t => t.TaskDefinitionArn == crashing.Arn || Volatile.Read(ref release) ? TaskOutcome.Healthy : TaskOutcome.Waits;
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = crashing.Arn, DesiredCount = 2 });
        await WaitForServiceAsync("web", Steady, "the first revision steady");
        var old = RunningHealthy();
        Assert.Equal(2, old.Count);

        var updated = await UpdateAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = fixedRevision.Arn });
        var newDeployment = updated.Deployments[0].Id;
        await WaitForServiceAsync("web", s => s.Deployments[0].Id == newDeployment && s.Deployments[0].PendingCount == 2, "the new revision's tasks launched");
        foreach (var id in old)
        {
            await agent.CrashAsync(id);
        }

        var crashed = await WaitForServiceAsync("web", s => s.Deployments.Any(d => d.Id != newDeployment && d.FailedTasks == 2), "the old revision's crashes counted");
        Assert.Null(crashed.Throttle);

        Volatile.Write(ref release, true);
        var steady = await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].Id == newDeployment, "the new revision steady");
        Assert.Null(steady.Throttle);
        Assert.DoesNotContain(steady.Events, e => e.Message.Contains("unable to consistently start tasks", StringComparison.Ordinal));
        Assert.DoesNotContain(steady.Events, e => e.Message.Contains("failed to start in the last", StringComparison.Ordinal));
        Assert.Equal(0, steady.Deployments[0].FailedTasks);
    }

    [Fact]
    public async Task OneCrash_IsReplacedAtOnce_WithoutAThrottle()
    {
        var agent = await StartAgentAsync();
        var definition = await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = definition.Arn, DesiredCount = 1 });
        var first = await WaitForServiceAsync("web", Steady, "steady");
        var taskId = Assert.Single(RunningHealthy());

        await agent.Agent.ReportAsync(taskId, LifecycleStatus.Stopped, r =>
        {
            r.StopCode = StopCode.EssentialContainerExited;
            r.StoppedReason = "Essential container in task exited";
        });

        var replaced = await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].FailedTasks == 1, "the crashed task replaced");
        Assert.Null(replaced.Throttle);
        Assert.Equal(first.Deployments[0].Id, replaced.Deployments[0].Id);
    }
}

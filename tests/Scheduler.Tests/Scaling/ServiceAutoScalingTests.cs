using Berth.Scheduler.Scaling;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Scaling;

/// <summary>
/// Service auto scaling end to end on a fake clock: the ApplicationAutoScaling API over real gRPC, simulated agents
/// reporting task stats on their session streams, the scaling pass every simulated minute, and the reconciler
/// starting and stopping the tasks it asks for. The clock starts at 07:58 UTC on a Thursday: 08:58 in Berlin (CET, UTC+1).
/// </summary>
public sealed class ServiceAutoScalingTests(ITestOutputHelper output) : FakeClockServiceTest(output, new DateTimeOffset(2026, 12, 3, 7, 58, 0, TimeSpan.Zero))
{
    private ApplicationAutoScaling.ApplicationAutoScalingClient Aas => new(Host.Channel);

    private Metrics.MetricsClient MetricsApi => new(Host.Channel);

    private const string Resource = "service/default/web";

    [Fact]
    public async Task TargetTracking_ScalesOutOnHighCpu_HoldsScaleInThroughTheCooldown_ThenScalesInToTheMinimum()
    {
        var agent = await StartWebAsync(desired: 2);
        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 2, MaxCapacity = 6 }, Host.Admin);
        var put = await Aas.PutScalingPolicyAsync(new PutScalingPolicyRequest
        {
            PolicyName = "cpu50",
            ResourceId = Resource,
            PolicyType = "TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration { TargetValue = 50, PredefinedMetricType = "ECSServiceAverageCPUUtilization" },
        }, Host.Admin);
        Assert.Equal(["TargetTracking-cpu50-AlarmHigh", "TargetTracking-cpu50-AlarmLow"], put.Alarms);

        // 90 % of the 64 units each task reserves: ceil(2 x 90 / 50) = 4.
        await PassAsync(agent, cpuUnits: 57.6, expectedTasks: 2);
        var service = await WaitForServiceAsync("web", s => s.DesiredCount == 4 && s.RunningCount == 4, "scaled out to 4 running");
        Assert.Contains(service.Events, e => e.Message.Contains("Application Auto Scaling set the desired count from 2 to 4", StringComparison.Ordinal)
            && e.Message.Contains("TargetTracking-cpu50-AlarmHigh", StringComparison.Ordinal));
        var activity = Assert.Single((await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities);
        Assert.Equal((2, 4), (activity.FromCount, activity.ToCount));
        Assert.StartsWith("monitor alarm TargetTracking-cpu50-AlarmHigh in state ALARM triggered policy cpu50", activity.Cause, StringComparison.Ordinal);
        Assert.Equal("Successful", activity.StatusCode);

        // Idle now (10 %), but a scale-in waits out the scale-in cooldown (300 s) after the scale-out: four passes hold.
        for (var i = 0; i < 4; i++)
        {
            await PassAsync(agent, cpuUnits: 6.4, expectedTasks: 4);
            Assert.Equal(4, (await DescribeAsync("web")).DesiredCount);
        }

        // The fifth minute ends the cooldown: ceil(4 x 10 / 50) = 1, clamped to the minimum 2.
        await PassAsync(agent, cpuUnits: 6.4, expectedTasks: 4);
        await WaitForServiceAsync("web", s => s.DesiredCount == 2 && s.RunningCount == 2, "scaled in to the minimum 2");
        var activities = (await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities;
        Assert.Equal((4, 2), (activities[0].FromCount, activities[0].ToCount));
        Assert.Contains("AlarmLow", activities[0].Cause, StringComparison.Ordinal);
        Assert.Equal("Setting desired count to 2 (from 4).", activities[0].Description);
    }

    [Fact]
    public async Task StepScaling_HonoursItsCooldown_AndTheMaximumClamps()
    {
        var agent = await StartWebAsync(desired: 2);
        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 4 }, Host.Admin);
        await Aas.PutScalingPolicyAsync(new PutScalingPolicyRequest
        {
            PolicyName = "hot",
            ResourceId = Resource,
            PolicyType = "StepScaling",
            StepScalingPolicyConfiguration = new StepScalingConfiguration
            {
                AdjustmentType = "ChangeInCapacity",
                MetricType = "ECSServiceAverageCPUUtilization",
                Threshold = 70,
                ComparisonOperator = "GreaterThanOrEqualToThreshold",
                Cooldown = 180,
                StepAdjustments = { new V1.StepAdjustment { MetricIntervalLowerBound = 0, ScalingAdjustment = 2 } },
            },
        }, Host.Admin);

        await PassAsync(agent, cpuUnits: 60, expectedTasks: 2);
        await WaitForServiceAsync("web", s => s.DesiredCount == 4 && s.RunningCount == 4, "stepped out to 4");

        // Still hot, but inside the 3 minute cooldown: nothing; after it, +2 would be 6, clamped to the maximum 4.
        await PassAsync(agent, cpuUnits: 60, expectedTasks: 4);
        await PassAsync(agent, cpuUnits: 60, expectedTasks: 4);
        Assert.Equal(4, (await DescribeAsync("web")).DesiredCount);
        Assert.Single((await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities);
    }

    [Fact]
    public async Task DisableScaleIn_KeepsTheCount_AndARaisedMinimumMovesItUp()
    {
        var agent = await StartWebAsync(desired: 3);
        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 10 }, Host.Admin);
        await Aas.PutScalingPolicyAsync(new PutScalingPolicyRequest
        {
            PolicyName = "mem",
            ResourceId = Resource,
            TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration
            {
                TargetValue = 60, PredefinedMetricType = "ECSServiceAverageMemoryUtilization", DisableScaleIn = true, ScaleInCooldown = 0,
            },
        }, Host.Admin);

        for (var i = 0; i < 3; i++)
        {
            await PassAsync(agent, cpuUnits: 1, expectedTasks: 3, memoryMiB: 5);
            Assert.Equal(3, (await DescribeAsync("web")).DesiredCount);
        }

        Assert.Empty((await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities);

        // Raising the minimum above the count moves the count at the next pass, with the cause.
        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 5 }, Host.Admin);
        await PassAsync(agent, cpuUnits: 1, expectedTasks: 3, memoryMiB: 5);
        await WaitForServiceAsync("web", s => s.DesiredCount == 5 && s.RunningCount == 5, "moved up to the minimum 5");
        var activity = (await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities[0];
        Assert.Equal("the desired count 3 was below the minimum capacity 5", activity.Cause);
        var target = Assert.Single((await Aas.DescribeScalableTargetsAsync(new DescribeScalableTargetsRequest(), Host.Admin)).ScalableTargets);
        Assert.Equal((5, 10, 5), (target.MinCapacity, target.MaxCapacity, target.DesiredCount));
    }

    [Fact]
    public async Task ScheduledAction_FiresAtItsTimeInItsTimeZone_AndEverythingSurvivesARestart()
    {
        var agent = await StartWebAsync(desired: 1);
        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 3 }, Host.Admin);
        // 09:00 in Berlin is 08:00 UTC in December; the clock starts at 07:58 UTC.
        await Aas.PutScheduledActionAsync(new PutScheduledActionRequest
        {
            ScheduledActionName = "morning",
            ResourceId = Resource,
            Schedule = "cron(0 9 ? * * *)",
            Timezone = "Europe/Berlin",
            MinCapacity = 4,
            MaxCapacity = 8,
        }, Host.Admin);
        var described = Assert.Single((await Aas.DescribeScheduledActionsAsync(new DescribeScheduledActionsRequest(), Host.Admin)).ScheduledActions);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero), described.NextRun.ToDateTimeOffset());

        await PassAsync(agent, cpuUnits: 1, expectedTasks: 1);
        Assert.Equal(1, (await DescribeAsync("web")).DesiredCount);
        await PassAsync(agent, cpuUnits: 1, expectedTasks: 1);
        await WaitForServiceAsync("web", s => s.DesiredCount == 4 && s.RunningCount == 4, "the morning's minimum of 4");
        var activity = (await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities[0];
        Assert.Equal("scheduled action name morning was triggered at 2026-12-03T08:00:00Z: min 4, max 8", activity.Cause);

        await StopAgentAsync(agent);
        await RestartAsync();
        var target = Assert.Single((await Aas.DescribeScalableTargetsAsync(new DescribeScalableTargetsRequest(), Host.Admin)).ScalableTargets);
        Assert.Equal((4, 8, 4), (target.MinCapacity, target.MaxCapacity, target.DesiredCount));
        Assert.Single((await Aas.DescribeScheduledActionsAsync(new DescribeScheduledActionsRequest { ResourceId = Resource }, Host.Admin)).ScheduledActions);
        Assert.Equal(activity.Cause, (await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest(), Host.Admin)).ScalingActivities[0].Cause);
    }

    [Fact]
    public async Task BadInput_GetsAasErrors_AndChangesNothing()
    {
        await StartWebAsync(desired: 1);
        var e = await Assert.ThrowsAsync<RpcException>(() => Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 5, MaxCapacity = 2 }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("ValidationException: max_capacity", e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Aas.DescribeScalableTargetsAsync(new DescribeScalableTargetsRequest(), Host.Admin)).ScalableTargets);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = "service/default/nope", MinCapacity = 1, MaxCapacity = 2 }, Host.Admin).ResponseAsync);
        Assert.Equal("ValidationException: resource_id: ECS service doesn't exist: service/default/nope", e.Status.Detail);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = "web", MinCapacity = 1, MaxCapacity = 2 }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationException: resource_id:", e.Status.Detail, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.PutScalingPolicyAsync(new PutScalingPolicyRequest
        {
            PolicyName = "cpu", ResourceId = Resource,
            TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration { TargetValue = 50, PredefinedMetricType = "ECSServiceAverageCPUUtilization" },
        }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.StartsWith("ObjectNotFoundException: No scalable target registered", e.Status.Detail, StringComparison.Ordinal);

        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 2 }, Host.Admin);
        e = await Assert.ThrowsAsync<RpcException>(() => Aas.PutScalingPolicyAsync(new PutScalingPolicyRequest
        {
            PolicyName = "rps", ResourceId = Resource,
            TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration { TargetValue = 50, PredefinedMetricType = "RequestsPerSecond" },
        }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationException: target_tracking_scaling_policy_configuration.predefined_metric_type:", e.Status.Detail, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.PutScheduledActionAsync(new PutScheduledActionRequest
        {
            ScheduledActionName = "x", ResourceId = Resource, Schedule = "cron(0 9 * * *)", MinCapacity = 1,
        }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationException: schedule:", e.Status.Detail, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.PutScheduledActionAsync(new PutScheduledActionRequest
        {
            ScheduledActionName = "x", ResourceId = Resource, Schedule = "rate(1 hour)", Timezone = "Mars/Olympus", MinCapacity = 1,
        }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationException: timezone:", e.Status.Detail, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<RpcException>(() => Aas.DeleteScalingPolicyAsync(new DeleteScalingPolicyRequest { PolicyName = "none", ResourceId = Resource }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ObjectNotFoundException: No scaling policy found", e.Status.Detail, StringComparison.Ordinal);

        Assert.Empty((await Aas.DescribeScalingPoliciesAsync(new DescribeScalingPoliciesRequest(), Host.Admin)).ScalingPolicies);
        Assert.Empty((await Aas.DescribeScheduledActionsAsync(new DescribeScheduledActionsRequest(), Host.Admin)).ScheduledActions);

        // Deleting the service takes its target with it.
        await UpdateAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 0 });
        await Host.ServicesApi.DeleteServiceAsync(new DeleteServiceRequest { Service = "web" }, Host.Admin);
        Assert.Empty((await Aas.DescribeScalableTargetsAsync(new DescribeScalableTargetsRequest(), Host.Admin)).ScalableTargets);
    }

    [Fact]
    public async Task TaskStats_FromAnotherHostsTask_DoNotCount()
    {
        var agent = await StartWebAsync(desired: 1);
        var other = await StartAgentAsync(zone: "zone-b");
        var task = Assert.Single(agent.Running());
        var own = new TaskStatsReport { SampledAt = Timestamp.FromDateTimeOffset(Clock.GetUtcNow()) };
        own.Tasks.Add(new TaskStats { TaskId = task, CpuUnits = 16, MemoryMib = 32, IntervalMs = 10_000 });
        await agent.Agent.SendAsync(new AgentMessage { TaskStats = own });
        var entry = await WaitForStatsAsync(s => s.Tasks.Count == 1 && s.Tasks[0].CpuUnits == 16);
        Assert.Equal(25, entry.Tasks[0].CpuUtilization, 3);
        Assert.Equal(25, entry.Tasks[0].MemoryUtilization, 3);
        Assert.Equal(agent.Agent.InstanceId, entry.Tasks[0].ContainerInstanceId);

        // Another host claims the task is busy; a state report after it on the same stream is acknowledged only once the
        // stats before it were handled.
        var forged = new TaskStatsReport { SampledAt = own.SampledAt };
        forged.Tasks.Add(new TaskStats { TaskId = task, CpuUnits = 64, MemoryMib = 100, IntervalMs = 10_000 });
        await other.Agent.SendAsync(new AgentMessage { TaskStats = forged });
        await other.Agent.ReportAndWaitAsync("not-a-task-of-this-host", LifecycleStatus.Running);
        Assert.Equal(16, Assert.Single((await MetricsApi.GetTaskStatsAsync(new GetTaskStatsRequest { ServiceName = "web" }, Host.Admin)).Tasks).CpuUnits);
        var metrics = await MetricsApi.GetServiceMetricsAsync(new GetServiceMetricsRequest { ServiceName = "web" }, Host.Admin);
        Assert.Equal(25, metrics.CpuUtilization, 3);
        Assert.Equal(1, metrics.TasksReporting);
    }

    private async Task<AgentAutopilot> StartWebAsync(int desired)
    {
        var agent = await StartAgentAsync(memory: 8192);
        var definition = await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = definition.Arn, DesiredCount = desired });
        await WaitForServiceAsync("web", s => s.RunningCount == desired, $"{desired} running");
        return agent;
    }

    /// <summary>Every running task reports the given use; once the scheduler has them all, one simulated minute passes (one scaling pass).</summary>
    private async Task PassAsync(AgentAutopilot agent, double cpuUnits, int expectedTasks, double memoryMiB = 64)
    {
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(agent.Running().Count == expectedTasks), TimeSpan.FromSeconds(30), $"{expectedTasks} tasks running on the agent");
        var report = new TaskStatsReport { SampledAt = Timestamp.FromDateTimeOffset(Clock.GetUtcNow()) };
        foreach (var id in agent.Running())
        {
            report.Tasks.Add(new TaskStats { TaskId = id, CpuUnits = cpuUnits, MemoryMib = memoryMiB, IntervalMs = 10_000 });
        }

        await agent.Agent.SendAsync(new AgentMessage { TaskStats = report });
        var expected = cpuUnits * 100 / 64;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var m = await MetricsApi.GetServiceMetricsAsync(new GetServiceMetricsRequest { ServiceName = "web" }, Host.Admin);
            return m.TasksReporting == expectedTasks && Math.Abs(m.CpuUtilization - expected) < 0.01;
        }, TimeSpan.FromSeconds(30), $"the service's stats from {expectedTasks} tasks");

        var runner = Host.Services.GetRequiredService<ScalingRunner>();
        var before = runner.Passes;
        Clock.Advance(TimeSpan.FromMinutes(1));
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(runner.Passes > before), TimeSpan.FromSeconds(30), "a scaling pass");
    }

    private async Task<GetTaskStatsResponse> WaitForStatsAsync(Func<GetTaskStatsResponse, bool> predicate)
    {
        GetTaskStatsResponse? last = null;
        await TaskTimeouts.WaitUntilAsync(async () => predicate(last = await MetricsApi.GetTaskStatsAsync(new GetTaskStatsRequest(), Host.Admin)), TimeSpan.FromSeconds(30), "task stats");
        return last!;
    }
}

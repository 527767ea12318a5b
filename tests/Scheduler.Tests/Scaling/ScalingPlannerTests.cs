using Berth.Scheduler.Scaling;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Scheduler.Tests.Scaling;

/// <summary>Application Auto Scaling's rules on a fake clock: target tracking, step scaling, cooldowns, scheduled actions, bounds.</summary>
public sealed class ScalingPlannerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void TargetTracking_ScalesOutToCurrentTimesMetricOverTarget()
    {
        var scaling = Scaling(1, 10, Cpu50());

        var desired = ScalingPlanner.Plan(scaling, 2, Metrics(cpu: 90), _time.GetUtcNow());

        // ceil(2 x 90 / 50) = 4.
        Assert.Equal(4, desired);
        var activity = Assert.Single(scaling.Activities);
        Assert.Equal((2, 4), (activity.From, activity.To));
        Assert.Contains("triggered policy cpu50", activity.Cause, StringComparison.Ordinal);
        Assert.Contains("ECSServiceAverageCPUUtilization 90", activity.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public void TargetTracking_ClampsToTheTargetsBounds()
    {
        var scaling = Scaling(2, 5, Cpu50());

        Assert.Equal(5, ScalingPlanner.Plan(scaling, 3, Metrics(cpu: 100), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, ScalingPlanner.Plan(scaling, 5, Metrics(cpu: 1), _time.GetUtcNow()));
    }

    [Fact]
    public void TargetTracking_NoDataOrWithinToleranceChangesNothing()
    {
        var scaling = Scaling(1, 10, Cpu50());

        Assert.Equal(4, ScalingPlanner.Plan(scaling, 4, _ => null, _time.GetUtcNow()));
        // 46 % is below 50 but within the 10 % tolerance: ceil(4 x 46 / 50) = 4 anyway; 44 % would give 4 too but is outside.
        Assert.Equal(4, ScalingPlanner.Plan(scaling, 4, Metrics(cpu: 46), _time.GetUtcNow()));
        Assert.Equal(10, ScalingPlanner.Plan(scaling, 10, Metrics(cpu: 46), _time.GetUtcNow()));
        Assert.Empty(scaling.Activities);
    }

    [Fact]
    public void ScaleInCooldown_WaitsAfterAScaleIn_AndAfterAScaleOut()
    {
        var scaling = Scaling(1, 20, Cpu50() with { ScaleInCooldown = TimeSpan.FromMinutes(5), ScaleOutCooldown = TimeSpan.FromMinutes(1) });
        var now = _time.GetUtcNow();
        Assert.Equal(8, ScalingPlanner.Plan(scaling, 4, Metrics(cpu: 100), now));

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(8, ScalingPlanner.Plan(scaling, 8, Metrics(cpu: 10), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(2, ScalingPlanner.Plan(scaling, 8, Metrics(cpu: 10), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, ScalingPlanner.Plan(scaling, 2, Metrics(cpu: 10), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, ScalingPlanner.Plan(scaling, 2, Metrics(cpu: 10), _time.GetUtcNow()));
    }

    [Fact]
    public void ScaleOutCooldown_OnlyAddsWhatGoesBeyondTheLastScaleOut()
    {
        var scaling = Scaling(1, 50, Cpu50() with { ScaleOutCooldown = TimeSpan.FromMinutes(5) });
        Assert.Equal(4, ScalingPlanner.Plan(scaling, 2, Metrics(cpu: 100), _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromMinutes(1));
        // The new tasks are not loaded yet: 2 tasks at 100 % still say 4, which the last scale-out already set.
        Assert.Equal(2, ScalingPlanner.Plan(scaling, 2, Metrics(cpu: 100), _time.GetUtcNow()));
        // A bigger need goes through inside the cooldown.
        Assert.Equal(12, ScalingPlanner.Plan(scaling, 4, Metrics(cpu: 150), _time.GetUtcNow()));
    }

    [Fact]
    public void DisableScaleIn_NeverRemoves_AndOnePolicyRefusingBlocksTheOthersScaleIn()
    {
        var scaling = Scaling(1, 20, Cpu50() with { DisableScaleIn = true, ScaleInCooldown = TimeSpan.Zero });
        Assert.Equal(6, ScalingPlanner.Plan(scaling, 6, Metrics(cpu: 5), _time.GetUtcNow()));

        scaling.Policies["mem70"] = new TargetTrackingPolicy("mem70", ScalingMetric.MemoryUtilization, 70) { ScaleInCooldown = TimeSpan.Zero };
        Assert.Equal(6, ScalingPlanner.Plan(scaling, 6, Metrics(cpu: 5, memory: 7), _time.GetUtcNow()));

        // Scale-out by any policy: memory at 140 % of its target doubles the count.
        Assert.Equal(12, ScalingPlanner.Plan(scaling, 6, Metrics(cpu: 5, memory: 140), _time.GetUtcNow()));
    }

    [Fact]
    public void TwoPolicies_ScaleInOnlyWhenBothAllow_ByTheLeastEitherAsks()
    {
        var scaling = Scaling(1, 20, Cpu50() with { ScaleInCooldown = TimeSpan.Zero });
        scaling.Policies["mem50"] = new TargetTrackingPolicy("mem50", ScalingMetric.MemoryUtilization, 50) { ScaleInCooldown = TimeSpan.Zero };

        // CPU says ceil(10 x 10 / 50) = 2, memory ceil(10 x 30 / 50) = 6: six stay.
        Assert.Equal(6, ScalingPlanner.Plan(scaling, 10, Metrics(cpu: 10, memory: 30), _time.GetUtcNow()));
    }

    [Fact]
    public void StepScaling_AppliesTheStepHoldingTheBreach_ThenItsCooldown()
    {
        var policy = new StepScalingPolicy("steps", ScalingMetric.CpuUtilization, 70, ComparisonOperator.GreaterThanOrEqualToThreshold, AdjustmentType.ChangeInCapacity,
            [new StepAdjustment(0, 15, 1), new StepAdjustment(15, null, 3)]) { Cooldown = TimeSpan.FromMinutes(2) };
        policy.Validate();
        var scaling = Scaling(1, 20);
        scaling.Policies[policy.Name] = policy;

        Assert.Equal(5, ScalingPlanner.Plan(scaling, 4, Metrics(cpu: 75), _time.GetUtcNow()));
        Assert.Equal(5, ScalingPlanner.Plan(scaling, 5, Metrics(cpu: 95), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(8, ScalingPlanner.Plan(scaling, 5, Metrics(cpu: 95), _time.GetUtcNow()));
        Assert.Equal(8, ScalingPlanner.Plan(scaling, 8, Metrics(cpu: 60), _time.GetUtcNow()));
    }

    [Fact]
    public void StepScaling_PercentChange_RoundsAsApplicationAutoScalingDoes()
    {
        var policy = new StepScalingPolicy("in", ScalingMetric.MemoryUtilization, 30, ComparisonOperator.LessThanThreshold, AdjustmentType.PercentChangeInCapacity,
            [new StepAdjustment(null, 0, -25)]) { Cooldown = TimeSpan.Zero, MinAdjustmentMagnitude = 2 };
        var scaling = Scaling(0, 100);
        scaling.Policies[policy.Name] = policy;

        // 25 % of 10 is 2.5: rounded toward zero to 2.
        Assert.Equal(8, ScalingPlanner.Plan(scaling, 10, Metrics(memory: 10), _time.GetUtcNow()));
        // 25 % of 3 is 0.75: one task, raised to the minimum magnitude 2.
        Assert.Equal(1, ScalingPlanner.Plan(scaling, 3, Metrics(memory: 10), _time.GetUtcNow()));
    }

    [Fact]
    public void StepScaling_RejectsGapsAndOverlaps()
    {
        var gap = new StepScalingPolicy("p", ScalingMetric.CpuUtilization, 70, ComparisonOperator.GreaterThanThreshold, AdjustmentType.ChangeInCapacity,
            [new StepAdjustment(0, 10, 1), new StepAdjustment(20, null, 2)]);

        var error = Assert.Throws<ArgumentException>(gap.Validate);
        Assert.StartsWith("step_adjustments[1]:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScalableTarget_MinAboveMax_IsRefusedNamingTheField()
    {
        var error = Assert.Throws<ArgumentException>(new ScalableTarget(5, 2).Validate);

        Assert.StartsWith("max_capacity:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SuspendedDirections_AreLeftAlone()
    {
        var scaling = Scaling(1, 20, Cpu50() with { ScaleInCooldown = TimeSpan.Zero });
        scaling.Target = scaling.Target with { DynamicScalingOutSuspended = true };

        Assert.Equal(3, ScalingPlanner.Plan(scaling, 3, Metrics(cpu: 100), _time.GetUtcNow()));
        Assert.Equal(1, ScalingPlanner.Plan(scaling, 3, Metrics(cpu: 5), _time.GetUtcNow()));
    }

    [Fact]
    public void ScheduledAction_CronInATimeZone_SetsTheBoundsAndMovesTheCount()
    {
        // Weekdays at 08:00 Berlin time (07:00 UTC in December) min 6; at 20:00 min back to 1.
        var scaling = Scaling(1, 10);
        scaling.ScheduledActions["morning"] = new ScheduledAction("morning", ScalingSchedule.Parse("cron(0 8 ? * MON-FRI *)", "Europe/Berlin"), 6, null);
        scaling.ScheduledActions["evening"] = new ScheduledAction("evening", ScalingSchedule.Parse("cron(0 20 ? * MON-FRI *)", "Europe/Berlin"), 1, null);
        _time.SetUtcNow(new DateTimeOffset(2026, 12, 4, 6, 59, 0, TimeSpan.Zero));
        Assert.Equal(2, ScalingPlanner.Plan(scaling, 2, _ => null, _time.GetUtcNow()));

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(6, ScalingPlanner.Plan(scaling, 2, _ => null, _time.GetUtcNow()));
        Assert.Equal(6, scaling.Target.MinCapacity);
        Assert.StartsWith("scheduled action name morning was triggered at 2026-12-04T07:00:00Z", scaling.Activities[0].Cause, StringComparison.Ordinal);

        // The evening lowers the minimum only: the count stays where it is until a policy moves it.
        _time.SetUtcNow(new DateTimeOffset(2026, 12, 4, 19, 0, 30, TimeSpan.Zero));
        Assert.Equal(6, ScalingPlanner.Plan(scaling, 6, _ => null, _time.GetUtcNow()));
        Assert.Equal(1, scaling.Target.MinCapacity);
    }

    [Fact]
    public void ScheduledAction_MissedOccurrencesApplyOnce_AndAtFiresOnlyOnce()
    {
        var scaling = Scaling(1, 10);
        scaling.ScheduledActions["max3"] = new ScheduledAction("max3", ScalingSchedule.Parse("rate(1 hour)", null), null, 3);
        scaling.ScheduledActions["once"] = new ScheduledAction("once", ScalingSchedule.Parse("at(2026-12-03T15:30:00)", "UTC"), 2, null);

        _time.Advance(TimeSpan.FromHours(5));
        Assert.Equal(3, ScalingPlanner.Plan(scaling, 8, _ => null, _time.GetUtcNow()));
        Assert.Equal(2, scaling.Activities.Count);
        Assert.Equal((2, 3), (scaling.Target.MinCapacity, scaling.Target.MaxCapacity));

        _time.Advance(TimeSpan.FromMinutes(30));
        ScalingPlanner.Plan(scaling, 3, _ => null, _time.GetUtcNow());
        Assert.Equal(2, scaling.Activities.Count);
        _time.Advance(TimeSpan.FromMinutes(30));
        ScalingPlanner.Plan(scaling, 3, _ => null, _time.GetUtcNow());
        Assert.Equal(3, scaling.Activities.Count);
    }

    [Theory]
    [InlineData("cron(0 8 * * ? 2027)", "schedule: the year field")]
    [InlineData("cron(0 8 * *)", "schedule: '")]
    [InlineData("rate(0 minutes)", "schedule: 'rate(0 minutes)'")]
    [InlineData("rate(5 weeks)", "schedule: unit 'weeks'")]
    [InlineData("at(2026-12-03 15:30)", "schedule: 'at(")]
    [InlineData("every day", "schedule: 'every day'")]
    public void Schedule_BadInput_IsRefusedNamingTheField(string text, string start)
    {
        var error = Assert.Throws<ArgumentException>(() => ScalingSchedule.Parse(text, null));

        Assert.StartsWith(start, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Schedule_UnknownTimeZone_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => ScalingSchedule.Parse("rate(1 hour)", "Mars/Olympus"));

        Assert.StartsWith("timezone:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Activities_KeepTheNewestHundred()
    {
        var scaling = Scaling(1, 1000, Cpu50() with { ScaleOutCooldown = TimeSpan.Zero, ScaleInCooldown = TimeSpan.Zero });
        var count = 1;
        for (var i = 0; i < 150; i++)
        {
            // Up to 2, down to 1, and so on: one activity each.
            count = ScalingPlanner.Plan(scaling, count, Metrics(cpu: i % 2 == 0 ? 100 : 10), _time.GetUtcNow());
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(ServiceScaling.MaxActivities, scaling.Activities.Count);
        Assert.Equal(count, scaling.Activities[0].To);
        Assert.Equal(_time.GetUtcNow().AddSeconds(-1), scaling.Activities[0].Time);
    }

    private ServiceScaling Scaling(int min, int max, params ScalingPolicy[] policies)
    {
        var scaling = new ServiceScaling(new ScalableTarget(min, max), _time.GetUtcNow());
        foreach (var policy in policies)
        {
            scaling.Policies[policy.Name] = policy;
        }

        return scaling;
    }

    private static TargetTrackingPolicy Cpu50() => new("cpu50", ScalingMetric.CpuUtilization, 50);

    private static Func<ScalingPolicy, MetricValue?> Metrics(double? cpu = null, double? memory = null) => policy =>
        (policy.Metric == ScalingMetric.CpuUtilization ? cpu : memory) is { } value ? new MetricValue(value, 3) : null;
}

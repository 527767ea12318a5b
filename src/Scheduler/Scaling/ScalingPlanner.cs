using System.Globalization;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// The auto scaling configuration of one service and what the planner remembers between passes (cooldowns, the last
/// look at the schedules, recent activities). Mutable; owned by one caller at a time (the scaling pass).
/// </summary>
internal sealed class ServiceScaling(ScalableTarget target, DateTimeOffset createdAt)
{
    /// <summary>At most this many activities are kept, newest first.</summary>
    public const int MaxActivities = 100;

    /// <summary>The bounds (scheduled actions change them).</summary>
    public ScalableTarget Target { get; set; } = target;

    /// <summary>Policies by name.</summary>
    public Dictionary<string, ScalingPolicy> Policies { get; } = new(StringComparer.Ordinal);

    /// <summary>Scheduled actions by name.</summary>
    public Dictionary<string, ScheduledAction> ScheduledActions { get; } = new(StringComparer.Ordinal);

    /// <summary>When the target was registered: rate() schedules without a start count from here.</summary>
    public DateTimeOffset CreatedAt { get; } = createdAt;

    /// <summary>Schedules are looked at for occurrences after this time.</summary>
    public DateTimeOffset ScheduleCheckedAt { get; set; } = createdAt;

    /// <summary>Last scale-out: when, and the capacity it set.</summary>
    public (DateTimeOffset At, int To)? LastScaleOut { get; set; }

    /// <summary>Last scale-in by a policy.</summary>
    public DateTimeOffset? LastScaleIn { get; set; }

    /// <summary>Last adjustment of each step policy (its cooldown).</summary>
    public Dictionary<string, DateTimeOffset> StepAdjustedAt { get; } = new(StringComparer.Ordinal);

    /// <summary>Activities, newest first.</summary>
    public List<ScalingActivity> Activities { get; } = [];

    /// <summary>Records an activity, keeping the newest <see cref="MaxActivities"/>.</summary>
    public void Record(ScalingActivity activity)
    {
        Activities.Insert(0, activity);
        if (Activities.Count > MaxActivities)
        {
            Activities.RemoveRange(MaxActivities, Activities.Count - MaxActivities);
        }
    }
}

/// <summary>
/// One scaling decision for a service, Application Auto Scaling's rules:
/// <list type="bullet">
/// <item>scheduled actions first: an occurrence since the last look sets the bounds it names (once, however many
/// occurrences were missed) and moves the capacity inside them;</item>
/// <item>each policy proposes a capacity: target tracking <c>ceil(current x metric / target)</c>, scaling in only when the
/// metric is more than <see cref="ScaleInTolerance"/> below the target; step scaling the step that holds the breach;
/// a policy without data, in its cooldown, with scale-in disabled or not breached proposes the current capacity;</item>
/// <item>the largest proposal wins: scale out when any policy wants it, scale in only when every policy allows it, and then
/// by the least any of them asks for;</item>
/// <item>a scale-out within a target tracking policy's scale-out cooldown only adds what goes beyond the capacity the last
/// scale-out set; a scale-in waits out the scale-in cooldown since the last scale-in, and a scale-out ends that wait;</item>
/// <item>the result is clamped to [min, max] of the target; suspended directions are left alone.</item>
/// </list>
/// Pure apart from the <see cref="ServiceScaling"/> state it updates; time comes from the caller.
/// </summary>
internal static class ScalingPlanner
{
    /// <summary>Target tracking scales in only below target x (1 - tolerance), so that a metric around the target does not flap.</summary>
    public const double ScaleInTolerance = 0.1;

    /// <summary>
    /// Decides the desired count; returns the new count (equal to <paramref name="current"/> when nothing changes) and
    /// records activities on <paramref name="scaling"/> for what changed.
    /// </summary>
    public static int Plan(ServiceScaling scaling, int current, Func<ScalingPolicy, MetricValue?> metric, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(scaling);
        ArgumentNullException.ThrowIfNull(metric);
        var desired = ApplySchedules(scaling, current, now);
        var target = scaling.Target;
        var proposal = desired;
        string? cause = null;
        ScalingPolicy? decider = null;
        var first = true;
        foreach (var policy in scaling.Policies.Values)
        {
            var value = metric(policy);
            var (wanted, why) = policy switch
            {
                TargetTrackingPolicy tracking => Track(scaling, tracking, desired, value, now),
                StepScalingPolicy step => Step(scaling, step, desired, value, now),
                _ => (desired, null),
            };
            // The largest proposal decides: one policy that refuses a scale-in proposes the current count and so wins.
            if (first || wanted > proposal)
            {
                (proposal, cause, decider) = (wanted, why, policy);
                first = false;
            }
        }

        // A scale-in needs every policy to allow it: the maximum above is already >= desired when one refuses.
        if (proposal > desired && target.DynamicScalingOutSuspended)
        {
            proposal = desired;
        }

        if (proposal < desired && target.DynamicScalingInSuspended)
        {
            proposal = desired;
        }

        proposal = Math.Clamp(proposal, target.MinCapacity, target.MaxCapacity);
        if (proposal != desired && cause is not null)
        {
            if (proposal > desired)
            {
                scaling.LastScaleOut = (now, proposal);
                scaling.LastScaleIn = null;
            }
            else
            {
                scaling.LastScaleIn = now;
            }

            if (decider is StepScalingPolicy step)
            {
                scaling.StepAdjustedAt[step.Name] = now;
            }

            scaling.Record(new ScalingActivity(now, desired, proposal, cause, Describe(desired, proposal)));
            desired = proposal;
        }

        return desired;
    }

    private static int ApplySchedules(ServiceScaling scaling, int current, DateTimeOffset now)
    {
        var desired = current;
        var since = scaling.ScheduleCheckedAt;
        scaling.ScheduleCheckedAt = now;
        if (scaling.Target.ScheduledScalingSuspended)
        {
            return desired;
        }

        // In the order they fire, so that the latest occurrence's bounds stand.
        var due = new List<(DateTimeOffset At, ScheduledAction Action)>();
        foreach (var action in scaling.ScheduledActions.Values)
        {
            var from = action.StartTime is { } start && start > since ? start.AddTicks(-1) : since;
            DateTimeOffset? last = null;
            for (var next = action.Schedule.NextAfter(from, action.StartTime ?? scaling.CreatedAt); next is { } n && n <= now; next = action.Schedule.NextAfter(n, action.StartTime ?? scaling.CreatedAt))
            {
                if (action.EndTime is { } end && n > end)
                {
                    break;
                }

                last = n;
            }

            if (last is { } at)
            {
                due.Add((at, action));
            }
        }

        foreach (var (at, action) in due.OrderBy(d => d.At))
        {
            var target = scaling.Target;
            var min = action.MinCapacity ?? target.MinCapacity;
            var max = action.MaxCapacity ?? target.MaxCapacity;
            // A scheduled action that would cross the other bound moves it along (AAS keeps min <= max).
            if (action.MinCapacity is not null && min > max)
            {
                max = min;
            }
            else if (min > max)
            {
                min = max;
            }

            scaling.Target = target with { MinCapacity = min, MaxCapacity = max };
            var clamped = Math.Clamp(desired, min, max);
            var when = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            var cause = $"scheduled action name {action.Name} was triggered at {when}: min {min}, max {max}";
            scaling.Record(new ScalingActivity(now, desired, clamped, cause, clamped == desired ? $"Setting min capacity to {min} and max capacity to {max}." : Describe(desired, clamped)));
            desired = clamped;
        }

        return desired;
    }

    private static (int Wanted, string? Cause) Track(ServiceScaling scaling, TargetTrackingPolicy policy, int current, MetricValue? value, DateTimeOffset now)
    {
        if (value is not { Tasks: > 0 } v || current == 0)
        {
            return (current, null);
        }

        var wanted = (int)Math.Ceiling(current * v.Average / policy.TargetValue - 1e-9);
        var cause = $"monitor alarm TargetTracking-{policy.Name}-{(wanted > current ? "AlarmHigh" : "AlarmLow")} in state ALARM triggered policy {policy.Name} ({MetricName(policy.Metric)} {v.Average.ToString("0.#", CultureInfo.InvariantCulture)} against target {policy.TargetValue.ToString("0.#", CultureInfo.InvariantCulture)})";
        if (wanted > current)
        {
            // Within the scale-out cooldown only what goes beyond the last scale-out counts.
            if (scaling.LastScaleOut is { } last && now - last.At < policy.ScaleOutCooldown && wanted <= last.To)
            {
                return (current, null);
            }

            return (wanted, cause);
        }

        if (wanted < current)
        {
            var blocked = policy.DisableScaleIn
                || v.Average >= policy.TargetValue * (1 - ScaleInTolerance)
                || (scaling.LastScaleIn is { } lastIn && now - lastIn < policy.ScaleInCooldown)
                || (scaling.LastScaleOut is { } lastOut && now - lastOut.At < policy.ScaleInCooldown);
            return blocked ? (current, null) : (Math.Max(wanted, 1), cause);
        }

        return (current, null);
    }

    private static (int Wanted, string? Cause) Step(ServiceScaling scaling, StepScalingPolicy policy, int current, MetricValue? value, DateTimeOffset now)
    {
        if (value is not { Tasks: > 0 } v)
        {
            return (current, null);
        }

        var breached = policy.Operator switch
        {
            ComparisonOperator.GreaterThanOrEqualToThreshold => v.Average >= policy.Threshold,
            ComparisonOperator.GreaterThanThreshold => v.Average > policy.Threshold,
            ComparisonOperator.LessThanThreshold => v.Average < policy.Threshold,
            _ => v.Average <= policy.Threshold,
        };
        if (!breached || (scaling.StepAdjustedAt.TryGetValue(policy.Name, out var last) && now - last < policy.Cooldown))
        {
            return (current, null);
        }

        var difference = v.Average - policy.Threshold;
        var step = policy.Steps.FirstOrDefault(s => (s.LowerBound ?? double.NegativeInfinity) <= difference && difference < (s.UpperBound ?? double.PositiveInfinity))
            // The upper bound is inclusive for a breach at the very top of a closed interval (AAS: "less than or equal" for the upper bound of a negative step).
            ?? policy.Steps.FirstOrDefault(s => s.UpperBound == difference);
        if (step is null)
        {
            return (current, null);
        }

        var wanted = policy.AdjustmentType switch
        {
            AdjustmentType.ExactCapacity => step.Adjustment,
            AdjustmentType.ChangeInCapacity => current + step.Adjustment,
            _ => current + PercentChange(current, step.Adjustment, policy.MinAdjustmentMagnitude),
        };
        wanted = Math.Max(wanted, 0);
        var cause = $"monitor alarm StepScaling-{policy.Name} in state ALARM triggered policy {policy.Name} ({MetricName(policy.Metric)} {v.Average.ToString("0.#", CultureInfo.InvariantCulture)}, threshold {policy.Threshold.ToString("0.#", CultureInfo.InvariantCulture)})";
        return wanted == current ? (current, null) : (wanted, cause);
    }

    /// <summary>AAS: a percent change between 0 and 1 task rounds to 1, a larger one rounds toward zero; then the minimum magnitude.</summary>
    private static int PercentChange(int current, int percent, int minMagnitude)
    {
        var exact = current * percent / 100.0;
        var magnitude = Math.Abs(exact) is > 0 and < 1 ? 1 : (int)Math.Truncate(Math.Abs(exact));
        magnitude = Math.Max(magnitude, minMagnitude);
        return Math.Sign(percent) * magnitude;
    }

    private static string Describe(int from, int to) => $"Setting desired count to {to} (from {from}).";

    /// <summary>Application Auto Scaling's name of the predefined metric.</summary>
    public static string MetricName(ScalingMetric metric) => metric switch
    {
        ScalingMetric.CpuUtilization => "ECSServiceAverageCPUUtilization",
        ScalingMetric.MemoryUtilization => "ECSServiceAverageMemoryUtilization",
        _ => "ALBRequestCountPerTarget",
    };
}

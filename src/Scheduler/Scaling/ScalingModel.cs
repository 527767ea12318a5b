using System.Collections.Immutable;

namespace Berth.Scheduler.Scaling;

/// <summary>The predefined service metrics of Application Auto Scaling for ECS.</summary>
internal enum ScalingMetric
{
    /// <summary><c>ECSServiceAverageCPUUtilization</c>: CPU used by the service's tasks over the CPU they reserve, in percent.</summary>
    CpuUtilization,

    /// <summary><c>ECSServiceAverageMemoryUtilization</c>: memory used over memory reserved, in percent.</summary>
    MemoryUtilization,

    /// <summary>
    /// <c>ALBRequestCountPerTarget</c>: requests the load balancers sent to the policy's target group over the last
    /// minute, divided by its targets in service, as ELB's <c>RequestCountPerTarget</c>; the policy names the group by
    /// its resource label.
    /// </summary>
    RequestCountPerTarget,
}

/// <summary>How a step adjusts the capacity (Application Auto Scaling's <c>AdjustmentType</c>).</summary>
internal enum AdjustmentType
{
    /// <summary>Adds the adjustment (negative removes).</summary>
    ChangeInCapacity,

    /// <summary>Adds the adjustment in percent of the current capacity (at least <see cref="StepScalingPolicy.MinAdjustmentMagnitude"/>).</summary>
    PercentChangeInCapacity,

    /// <summary>Sets the capacity to the adjustment.</summary>
    ExactCapacity,
}

/// <summary>Which side of the threshold breaches a step scaling alarm.</summary>
internal enum ComparisonOperator
{
    /// <summary>metric &gt;= threshold.</summary>
    GreaterThanOrEqualToThreshold,

    /// <summary>metric &gt; threshold.</summary>
    GreaterThanThreshold,

    /// <summary>metric &lt; threshold.</summary>
    LessThanThreshold,

    /// <summary>metric &lt;= threshold.</summary>
    LessThanOrEqualToThreshold,
}

/// <summary>
/// A service's scalable target (<c>ecs:service:DesiredCount</c>): the bounds every policy and scheduled action works within,
/// and the suspended state of Application Auto Scaling.
/// </summary>
internal sealed record ScalableTarget(int MinCapacity, int MaxCapacity)
{
    /// <summary>Dynamic (policy) scale-in is suspended.</summary>
    public bool DynamicScalingInSuspended { get; init; }

    /// <summary>Dynamic (policy) scale-out is suspended.</summary>
    public bool DynamicScalingOutSuspended { get; init; }

    /// <summary>Scheduled actions are suspended.</summary>
    public bool ScheduledScalingSuspended { get; init; }

    /// <summary>Checks the bounds: 0 &lt;= min &lt;= max (Application Auto Scaling's ValidationException names the fields).</summary>
    public void Validate()
    {
        if (MinCapacity < 0)
        {
            throw new ArgumentException("min_capacity: must be at least 0.");
        }

        if (MaxCapacity < MinCapacity)
        {
            throw new ArgumentException($"max_capacity: must be at least min_capacity ({MinCapacity}), not {MaxCapacity}.");
        }
    }
}

/// <summary>A scaling policy of a scalable target; <see cref="Name"/> is unique per target.</summary>
internal abstract record ScalingPolicy(string Name, ScalingMetric Metric)
{
    /// <summary>
    /// For <see cref="ScalingMetric.RequestCountPerTarget"/>: Application Auto Scaling's resource label,
    /// <c>app/&lt;load-balancer-name&gt;/&lt;id&gt;/targetgroup/&lt;target-group-name&gt;/&lt;id&gt;</c>; empty otherwise.
    /// </summary>
    public string ResourceLabel { get; init; } = "";

    /// <summary>The target group <see cref="ResourceLabel"/> named when the policy was put (its ARN); empty otherwise.</summary>
    public string TargetGroupArn { get; init; } = "";
}

/// <summary>
/// Target tracking: keeps the metric at <see cref="TargetValue"/> by setting capacity to current x metric / target,
/// scaling out at once and in only when the metric is below the target by more than the tolerance.
/// </summary>
internal sealed record TargetTrackingPolicy(string Name, ScalingMetric Metric, double TargetValue) : ScalingPolicy(Name, Metric)
{
    /// <summary>Seconds after a scale-out before another scale-out of this policy may add only what exceeds it (AAS default 300).</summary>
    public TimeSpan ScaleOutCooldown { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Seconds after a scale-in before the next scale-in (AAS default 300); a scale-out ends it.</summary>
    public TimeSpan ScaleInCooldown { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>The policy never removes capacity (another policy or a person does).</summary>
    public bool DisableScaleIn { get; init; }

    /// <summary>Checks the target: more than 0, and at most 100 for a utilization.</summary>
    public void Validate()
    {
        if (Metric == ScalingMetric.RequestCountPerTarget)
        {
            if (!(TargetValue > 0 && double.IsFinite(TargetValue)))
            {
                throw new ArgumentException($"target_value: a request count target must be above 0, not {TargetValue}.");
            }
        }
        else if (!(TargetValue > 0 && TargetValue <= 100))
        {
            throw new ArgumentException($"target_value: a utilization target must be above 0 and at most 100, not {TargetValue}.");
        }

        if (ScaleOutCooldown < TimeSpan.Zero || ScaleInCooldown < TimeSpan.Zero)
        {
            throw new ArgumentException("cooldown: must not be negative.");
        }
    }
}

/// <summary>One step: applies while (metric - threshold) lies in [lower, upper); a null bound is unbounded.</summary>
internal sealed record StepAdjustment(double? LowerBound, double? UpperBound, int Adjustment);

/// <summary>
/// Step scaling: when the metric breaches <see cref="Threshold"/> the step whose interval holds the breach size adjusts
/// the capacity; one cooldown for both directions.
/// </summary>
internal sealed record StepScalingPolicy(string Name, ScalingMetric Metric, double Threshold, ComparisonOperator Operator, AdjustmentType AdjustmentType, ImmutableArray<StepAdjustment> Steps)
    : ScalingPolicy(Name, Metric)
{
    /// <summary>Time after an adjustment of this policy before it adjusts again.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>For percent adjustments: the smallest change in tasks.</summary>
    public int MinAdjustmentMagnitude { get; init; }

    /// <summary>
    /// Checks the steps as AAS does: at most one unbounded lower and one unbounded upper bound, no overlaps or gaps,
    /// and (for a scale-in alarm) adjustments that make sense for the side.
    /// </summary>
    public void Validate()
    {
        if (Steps.IsDefaultOrEmpty)
        {
            throw new ArgumentException("step_adjustments: at least one step.");
        }

        var ordered = Steps.OrderBy(s => s.LowerBound ?? double.NegativeInfinity).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            var step = ordered[i];
            if (step.LowerBound is { } low && step.UpperBound is { } high && high <= low)
            {
                throw new ArgumentException($"step_adjustments[{i}]: upper bound {high} must be above lower bound {low}.");
            }

            if (i > 0 && ordered[i - 1].UpperBound != step.LowerBound)
            {
                throw new ArgumentException($"step_adjustments[{i}]: steps must not overlap or leave gaps (lower bound {Show(step.LowerBound)} after upper bound {Show(ordered[i - 1].UpperBound)}).");
            }
        }

        if (AdjustmentType == AdjustmentType.ExactCapacity && Steps.Any(s => s.Adjustment < 0))
        {
            throw new ArgumentException("step_adjustments: an exact capacity must not be negative.");
        }

        static string Show(double? bound) => bound?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";
    }
}

/// <summary>
/// A scheduled action: at each occurrence of <see cref="Schedule"/> in <see cref="TimeZone"/> the target's bounds become
/// the given ones (what is not given stays), and the capacity is moved inside them.
/// </summary>
internal sealed record ScheduledAction(string Name, ScalingSchedule Schedule, int? MinCapacity, int? MaxCapacity)
{
    /// <summary>No occurrence before this time.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>No occurrence after this time.</summary>
    public DateTimeOffset? EndTime { get; init; }
}

/// <summary>Why a scaling activity happened and what it did, as <c>DescribeScalingActivities</c> shows it.</summary>
/// <param name="Time">When it was decided.</param>
/// <param name="From">The desired count before.</param>
/// <param name="To">The desired count after.</param>
/// <param name="Cause">The cause (<c>monitor alarm ... in state ALARM triggered policy web-cpu</c>, a scheduled action).</param>
/// <param name="Description">What it did (<c>Setting desired count to 4.</c>).</param>
internal sealed record ScalingActivity(DateTimeOffset Time, int From, int To, string Cause, string Description);

/// <summary>
/// A metric of a service as the scaling pass reads it: the average over the last period, and how many tasks (for
/// <see cref="ScalingMetric.RequestCountPerTarget"/>: targets in service) it is averaged over.
/// </summary>
internal readonly record struct MetricValue(double Average, int Tasks);

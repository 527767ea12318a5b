using Berth.Scheduler.Kernel;
using Berth.Scheduler.Scaling;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Domain = Berth.Scheduler.Scaling;

namespace Berth.Scheduler.ControlPlane;

/// <summary>Application Auto Scaling's messages to and from the Scaling records.</summary>
internal static class ScalingWire
{
    private const string TargetTracking = "TargetTrackingScaling";
    private const string StepScaling = "StepScaling";

    public static Domain.ScalingPolicy FromWire(PutScalingPolicyRequest request)
    {
        switch (request.PolicyType)
        {
            case TargetTracking or "":
                var t = request.TargetTrackingScalingPolicyConfiguration
                    ?? throw Aas.Validation("target_tracking_scaling_policy_configuration", "is required for a TargetTrackingScaling policy.");
                var trackedMetric = Metric(t.PredefinedMetricType, "target_tracking_scaling_policy_configuration.predefined_metric_type");
                return new TargetTrackingPolicy(request.PolicyName, trackedMetric, t.TargetValue)
                {
                    ResourceLabel = Label(trackedMetric, t.ResourceLabel, "target_tracking_scaling_policy_configuration.resource_label"),
                    ScaleOutCooldown = Cooldown(t.HasScaleOutCooldown ? t.ScaleOutCooldown : null, "target_tracking_scaling_policy_configuration.scale_out_cooldown"),
                    ScaleInCooldown = Cooldown(t.HasScaleInCooldown ? t.ScaleInCooldown : null, "target_tracking_scaling_policy_configuration.scale_in_cooldown"),
                    DisableScaleIn = t.DisableScaleIn,
                };
            case StepScaling:
                var s = request.StepScalingPolicyConfiguration
                    ?? throw Aas.Validation("step_scaling_policy_configuration", "is required for a StepScaling policy.");
                const string Field = "step_scaling_policy_configuration";
                if (s.StepAdjustments.Count is 0 or > 20)
                {
                    throw Aas.Validation($"{Field}.step_adjustments", "give 1-20 steps.");
                }

                if (s.MinAdjustmentMagnitude < 0)
                {
                    throw Aas.Validation($"{Field}.min_adjustment_magnitude", "must not be negative.");
                }

                if (!double.IsFinite(s.Threshold))
                {
                    throw Aas.Validation($"{Field}.threshold", "must be a number.");
                }

                var alarmMetric = Metric(s.MetricType, $"{Field}.metric_type");
                return new StepScalingPolicy(
                    request.PolicyName,
                    alarmMetric,
                    s.Threshold,
                    s.ComparisonOperator switch
                    {
                        "GreaterThanOrEqualToThreshold" => ComparisonOperator.GreaterThanOrEqualToThreshold,
                        "GreaterThanThreshold" => ComparisonOperator.GreaterThanThreshold,
                        "LessThanThreshold" => ComparisonOperator.LessThanThreshold,
                        "LessThanOrEqualToThreshold" => ComparisonOperator.LessThanOrEqualToThreshold,
                        _ => throw Aas.Validation($"{Field}.comparison_operator", $"'{Aas.Printable(s.ComparisonOperator)}' is not GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold."),
                    },
                    s.AdjustmentType switch
                    {
                        "ChangeInCapacity" => AdjustmentType.ChangeInCapacity,
                        "PercentChangeInCapacity" => AdjustmentType.PercentChangeInCapacity,
                        "ExactCapacity" => AdjustmentType.ExactCapacity,
                        _ => throw Aas.Validation($"{Field}.adjustment_type", $"'{Aas.Printable(s.AdjustmentType)}' is not ChangeInCapacity, PercentChangeInCapacity or ExactCapacity."),
                    },
                    [.. s.StepAdjustments.Select(a => new Domain.StepAdjustment(
                        a.HasMetricIntervalLowerBound ? a.MetricIntervalLowerBound : null,
                        a.HasMetricIntervalUpperBound ? a.MetricIntervalUpperBound : null,
                        a.ScalingAdjustment))])
                {
                    Cooldown = Cooldown(s.HasCooldown ? s.Cooldown : null, $"{Field}.cooldown"),
                    MinAdjustmentMagnitude = s.MinAdjustmentMagnitude,
                    ResourceLabel = Label(alarmMetric, s.ResourceLabel, $"{Field}.resource_label"),
                };
            default:
                throw Aas.Validation("policy_type", $"'{Aas.Printable(request.PolicyType)}' is not TargetTrackingScaling or StepScaling.");
        }
    }

    public static V1.ScalingPolicy ToWire(string cluster, string service, Domain.ScalingPolicy policy)
    {
        var wire = new V1.ScalingPolicy
        {
            PolicyArn = Aas.PolicyArn(cluster, service, policy.Name),
            PolicyName = policy.Name,
            ServiceNamespace = Aas.Namespace,
            ResourceId = Aas.ResourceId(cluster, service),
            ScalableDimension = Aas.Dimension,
        };
        wire.Alarms.AddRange(ScalingHandler.Alarms(policy));
        switch (policy)
        {
            case TargetTrackingPolicy t:
                wire.PolicyType = TargetTracking;
                wire.TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration
                {
                    TargetValue = t.TargetValue,
                    PredefinedMetricType = ScalingPlanner.MetricName(t.Metric),
                    ScaleOutCooldown = (int)t.ScaleOutCooldown.TotalSeconds,
                    ScaleInCooldown = (int)t.ScaleInCooldown.TotalSeconds,
                    DisableScaleIn = t.DisableScaleIn,
                    ResourceLabel = t.ResourceLabel,
                };
                break;
            case StepScalingPolicy s:
                wire.PolicyType = StepScaling;
                var configuration = new StepScalingConfiguration
                {
                    AdjustmentType = s.AdjustmentType.ToString(),
                    Cooldown = (int)s.Cooldown.TotalSeconds,
                    MinAdjustmentMagnitude = s.MinAdjustmentMagnitude,
                    MetricType = ScalingPlanner.MetricName(s.Metric),
                    Threshold = s.Threshold,
                    ComparisonOperator = s.Operator.ToString(),
                    ResourceLabel = s.ResourceLabel,
                };
                foreach (var step in s.Steps)
                {
                    var adjustment = new V1.StepAdjustment { ScalingAdjustment = step.Adjustment };
                    if (step.LowerBound is { } lower)
                    {
                        adjustment.MetricIntervalLowerBound = lower;
                    }

                    if (step.UpperBound is { } upper)
                    {
                        adjustment.MetricIntervalUpperBound = upper;
                    }

                    configuration.StepAdjustments.Add(adjustment);
                }

                wire.StepScalingPolicyConfiguration = configuration;
                break;
        }

        return wire;
    }

    public static V1.ScheduledAction ToWire(ScalableTargetRecord target, Domain.ScheduledAction action)
    {
        var wire = new V1.ScheduledAction
        {
            ScheduledActionName = action.Name,
            ScheduledActionArn = Aas.ActionArn(target.Cluster, target.ServiceName, action.Name),
            ServiceNamespace = Aas.Namespace,
            ResourceId = target.ResourceId,
            ScalableDimension = Aas.Dimension,
            Schedule = action.Schedule.Text,
            Timezone = action.Schedule.Zone == TimeZoneInfo.Utc ? "UTC" : action.Schedule.Zone.Id,
        };
        if (action.StartTime is { } start)
        {
            wire.StartTime = Timestamp.FromDateTimeOffset(start);
        }

        if (action.EndTime is { } end)
        {
            wire.EndTime = Timestamp.FromDateTimeOffset(end);
        }

        if (action.MinCapacity is { } min)
        {
            wire.MinCapacity = min;
        }

        if (action.MaxCapacity is { } max)
        {
            wire.MaxCapacity = max;
        }

        var after = target.Scaling.ScheduleCheckedAt;
        if (action.StartTime is { } from && from > after)
        {
            after = from.AddTicks(-1);
        }

        if (action.Schedule.NextAfter(after, action.StartTime ?? target.Scaling.CreatedAt) is { } next && (action.EndTime is not { } last || next <= last))
        {
            wire.NextRun = Timestamp.FromDateTimeOffset(next);
        }

        return wire;
    }

    private static ScalingMetric Metric(string name, string field) => name switch
    {
        "ECSServiceAverageCPUUtilization" => ScalingMetric.CpuUtilization,
        "ECSServiceAverageMemoryUtilization" => ScalingMetric.MemoryUtilization,
        "ALBRequestCountPerTarget" => ScalingMetric.RequestCountPerTarget,
        _ => throw Aas.Validation(field, $"'{Aas.Printable(name)}' is not a predefined metric (ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization, ALBRequestCountPerTarget)."),
    };

    // AAS: a resource label is required with ALBRequestCountPerTarget and allowed with nothing else. Whether it names a
    // target group is the handler's question (it needs the cluster's state).
    private static string Label(ScalingMetric metric, string label, string field) => metric switch
    {
        ScalingMetric.RequestCountPerTarget when label.Length == 0 => throw Aas.Validation(field, "ALBRequestCountPerTarget needs the target group's resource label (app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>)."),
        ScalingMetric.RequestCountPerTarget => label,
        _ when label.Length > 0 => throw Aas.Validation(field, $"a resource label is only for ALBRequestCountPerTarget, not {ScalingPlanner.MetricName(metric)}."),
        _ => "",
    };

    private static TimeSpan Cooldown(int? seconds, string field) => seconds switch
    {
        null => TimeSpan.FromSeconds(300),
        < 0 or > 31_536_000 => throw Aas.Validation(field, "must be 0-31536000 seconds."),
        { } s => TimeSpan.FromSeconds(s),
    };
}

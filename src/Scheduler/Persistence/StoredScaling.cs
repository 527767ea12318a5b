using Berth.Scheduler.Kernel;
using Berth.Scheduler.Scaling;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Schema 1 of a scalable target (scalable_targets.Document): the bounds, the policies and scheduled actions as given
/// (schedules as their text and time zone, parsed again when read), the planner's memory (cooldowns, the last look at
/// the schedules) and the newest activities. Its own shapes, not the API's messages nor the Scaling types, so either
/// may change without rewriting rows.
/// </summary>
internal sealed class ScalableTargetDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public DateTimeOffset CreatedAt { get; set; }

    public int Min { get; set; }

    public int Max { get; set; }

    public bool InSuspended { get; set; }

    public bool OutSuspended { get; set; }

    public bool ScheduledSuspended { get; set; }

    public List<ScalingPolicyDocument>? Policies { get; set; }

    public List<ScheduledActionDocument>? Actions { get; set; }

    public DateTimeOffset ScheduleCheckedAt { get; set; }

    public DateTimeOffset? LastScaleOutAt { get; set; }

    public int LastScaleOutTo { get; set; }

    public DateTimeOffset? LastScaleInAt { get; set; }

    public Dictionary<string, DateTimeOffset>? StepAdjustedAt { get; set; }

    public List<ScalingActivityDocument>? Activities { get; set; }
}

/// <summary>A policy: <see cref="Kind"/> 1 target tracking, 2 step scaling.</summary>
internal sealed class ScalingPolicyDocument
{
    public int Kind { get; set; }

    public string? Name { get; set; }

    /// <summary>1 CPU, 2 memory, 3 ALB requests per target (additive within schema 1: older rows have 1 or 2).</summary>
    public int Metric { get; set; }

    /// <summary>For metric 3: AAS's resource label as given.</summary>
    public string? Label { get; set; }

    /// <summary>For metric 3: the target group's ARN the label named when the policy was put.</summary>
    public string? TargetGroup { get; set; }

    public double Target { get; set; }

    public long ScaleOutCooldownMs { get; set; }

    public long ScaleInCooldownMs { get; set; }

    public bool DisableScaleIn { get; set; }

    public double Threshold { get; set; }

    /// <summary>1 &gt;=, 2 &gt;, 3 &lt;, 4 &lt;=.</summary>
    public int Operator { get; set; }

    /// <summary>1 change, 2 percent, 3 exact.</summary>
    public int Adjustment { get; set; }

    public List<StepDocument>? Steps { get; set; }

    public long CooldownMs { get; set; }

    public int MinMagnitude { get; set; }
}

internal sealed class StepDocument
{
    public double? Lower { get; set; }

    public double? Upper { get; set; }

    public int Adjustment { get; set; }
}

internal sealed class ScheduledActionDocument
{
    public string? Name { get; set; }

    public string? Schedule { get; set; }

    public string? TimeZone { get; set; }

    public DateTimeOffset? Start { get; set; }

    public DateTimeOffset? End { get; set; }

    public int? Min { get; set; }

    public int? Max { get; set; }
}

internal sealed class ScalingActivityDocument
{
    public DateTimeOffset At { get; set; }

    public int From { get; set; }

    public int To { get; set; }

    public string? Cause { get; set; }

    public string? Description { get; set; }
}

/// <summary>Scalable target records to and from their rows.</summary>
internal static class StoredScaling
{
    public static ScalableTargetRow ToRow(ScalableTargetRecord record)
    {
        var s = record.Scaling;
        return new ScalableTargetRow
        {
            Cluster = record.Cluster,
            ServiceName = record.ServiceName,
            Document = StoredDocuments.Encode(new ScalableTargetDocument
            {
                CreatedAt = s.CreatedAt,
                Min = s.Target.MinCapacity,
                Max = s.Target.MaxCapacity,
                InSuspended = s.Target.DynamicScalingInSuspended,
                OutSuspended = s.Target.DynamicScalingOutSuspended,
                ScheduledSuspended = s.Target.ScheduledScalingSuspended,
                Policies = s.Policies.Count == 0 ? null : [.. s.Policies.Values.Select(ToDocument)],
                Actions = s.ScheduledActions.Count == 0 ? null : [.. s.ScheduledActions.Values.Select(a => new ScheduledActionDocument
                {
                    Name = a.Name,
                    Schedule = a.Schedule.Text,
                    TimeZone = a.Schedule.Zone == TimeZoneInfo.Utc ? null : a.Schedule.Zone.Id,
                    Start = a.StartTime,
                    End = a.EndTime,
                    Min = a.MinCapacity,
                    Max = a.MaxCapacity,
                })],
                ScheduleCheckedAt = s.ScheduleCheckedAt,
                LastScaleOutAt = s.LastScaleOut?.At,
                LastScaleOutTo = s.LastScaleOut?.To ?? 0,
                LastScaleInAt = s.LastScaleIn,
                StepAdjustedAt = s.StepAdjustedAt.Count == 0 ? null : new Dictionary<string, DateTimeOffset>(s.StepAdjustedAt, StringComparer.Ordinal),
                Activities = s.Activities.Count == 0 ? null : s.Activities.ConvertAll(a => new ScalingActivityDocument { At = a.Time, From = a.From, To = a.To, Cause = a.Cause, Description = a.Description }),
            }),
        };
    }

    public static ScalableTargetRecord FromRow(ScalableTargetRow row)
    {
        var d = StoredDocuments.DecodeScalableTarget(row.Document);
        var scaling = new ServiceScaling(
            new ScalableTarget(d.Min, d.Max)
            {
                DynamicScalingInSuspended = d.InSuspended,
                DynamicScalingOutSuspended = d.OutSuspended,
                ScheduledScalingSuspended = d.ScheduledSuspended,
            },
            d.CreatedAt)
        {
            ScheduleCheckedAt = d.ScheduleCheckedAt,
            LastScaleOut = d.LastScaleOutAt is { } outAt ? (outAt, d.LastScaleOutTo) : null,
            LastScaleIn = d.LastScaleInAt,
        };
        foreach (var p in d.Policies ?? [])
        {
            var policy = FromDocument(p);
            scaling.Policies[policy.Name] = policy;
        }

        foreach (var a in d.Actions ?? [])
        {
            // Validated when stored; a time zone this host no longer knows fails the load loudly rather than drop the action.
            scaling.ScheduledActions[a.Name ?? ""] = new ScheduledAction(a.Name ?? "", ScalingSchedule.Parse(a.Schedule ?? "", a.TimeZone), a.Min, a.Max)
            {
                StartTime = a.Start,
                EndTime = a.End,
            };
        }

        foreach (var (name, at) in d.StepAdjustedAt ?? [])
        {
            scaling.StepAdjustedAt[name] = at;
        }

        scaling.Activities.AddRange((d.Activities ?? []).Select(a => new ScalingActivity(a.At, a.From, a.To, a.Cause ?? "", a.Description ?? "")));
        return new ScalableTargetRecord { Cluster = row.Cluster, ServiceName = row.ServiceName, Scaling = scaling };
    }

    private static ScalingPolicyDocument ToDocument(ScalingPolicy policy) => policy switch
    {
        TargetTrackingPolicy t => new ScalingPolicyDocument
        {
            Kind = 1,
            Name = t.Name,
            Metric = MetricCode(t.Metric),
            Target = t.TargetValue,
            ScaleOutCooldownMs = (long)t.ScaleOutCooldown.TotalMilliseconds,
            ScaleInCooldownMs = (long)t.ScaleInCooldown.TotalMilliseconds,
            DisableScaleIn = t.DisableScaleIn,
            Label = Nullable(t.ResourceLabel),
            TargetGroup = Nullable(t.TargetGroupArn),
        },
        StepScalingPolicy s => new ScalingPolicyDocument
        {
            Kind = 2,
            Name = s.Name,
            Metric = MetricCode(s.Metric),
            Threshold = s.Threshold,
            Operator = (int)s.Operator + 1,
            Adjustment = (int)s.AdjustmentType + 1,
            Steps = [.. s.Steps.Select(x => new StepDocument { Lower = x.LowerBound, Upper = x.UpperBound, Adjustment = x.Adjustment })],
            CooldownMs = (long)s.Cooldown.TotalMilliseconds,
            MinMagnitude = s.MinAdjustmentMagnitude,
            Label = Nullable(s.ResourceLabel),
            TargetGroup = Nullable(s.TargetGroupArn),
        },
        _ => throw new InvalidOperationException($"Unknown policy type {policy.GetType().Name}."),
    };

    private static ScalingPolicy FromDocument(ScalingPolicyDocument p)
    {
        var metric = p.Metric switch
        {
            2 => ScalingMetric.MemoryUtilization,
            3 => ScalingMetric.RequestCountPerTarget,
            _ => ScalingMetric.CpuUtilization,
        };
        return p.Kind switch
        {
            1 => new TargetTrackingPolicy(p.Name ?? "", metric, p.Target)
            {
                ScaleOutCooldown = TimeSpan.FromMilliseconds(p.ScaleOutCooldownMs),
                ScaleInCooldown = TimeSpan.FromMilliseconds(p.ScaleInCooldownMs),
                DisableScaleIn = p.DisableScaleIn,
                ResourceLabel = p.Label ?? "",
                TargetGroupArn = p.TargetGroup ?? "",
            },
            2 => new StepScalingPolicy(
                p.Name ?? "",
                metric,
                p.Threshold,
                (ComparisonOperator)(p.Operator - 1),
                (AdjustmentType)(p.Adjustment - 1),
                [.. (p.Steps ?? []).Select(x => new StepAdjustment(x.Lower, x.Upper, x.Adjustment))])
            {
                Cooldown = TimeSpan.FromMilliseconds(p.CooldownMs),
                MinAdjustmentMagnitude = p.MinMagnitude,
                ResourceLabel = p.Label ?? "",
                TargetGroupArn = p.TargetGroup ?? "",
            },
            _ => throw new InvalidDataException($"A stored scaling policy has kind {p.Kind}; this scheduler knows 1 and 2."),
        };
    }

    private static int MetricCode(ScalingMetric metric) => metric switch
    {
        ScalingMetric.MemoryUtilization => 2,
        ScalingMetric.RequestCountPerTarget => 3,
        _ => 1,
    };

    // Absent from the document unless set, so policies stored before request counts read and write as before.
    private static string? Nullable(string value) => value.Length == 0 ? null : value;
}

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A capacity provider (ECS's Auto Scaling group provider): it wraps one host group of its cluster, and says how managed
/// scaling, termination protection and draining treat that group. Owned by its cluster's
/// <see cref="ClusterState.CapacityProviders"/>, read and changed only under the cluster's lock. ECS's providers are
/// account-wide; Berth's host groups belong to a cluster, so a provider lives in its group's cluster, as an ECS Managed
/// Instances provider does (and as an ASG provider in practice does: it can be associated with one cluster only).
/// </summary>
internal sealed class CapacityProviderRecord
{
    public required string Cluster { get; init; }

    public required string Name { get; init; }

    /// <summary>The host group's name (in <see cref="Cluster"/>).</summary>
    public required string HostGroup { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public required ManagedScaling Scaling { get; set; }

    /// <summary>managedTerminationProtection ENABLED: a host with non-daemon tasks is never chosen for scale-in.</summary>
    public bool TerminationProtection { get; set; }

    /// <summary>managedDraining ENABLED (ECS's default): a host chosen for scale-in is drained before it goes.</summary>
    public bool Draining { get; set; } = true;

    /// <summary>ECS's updateStatus after the last create or update (UPDATE_COMPLETE once an update went through).</summary>
    public string UpdateStatus { get; set; } = "";

    /// <summary>Managed scaling's last CapacityProviderReservation (percent); in memory only: a restart computes it again.</summary>
    public int? LastReservation { get; set; }

    /// <summary>
    /// Since when managed scaling's desired size has stayed below the group's (the scale-in wait, ECS's low alarm); stored
    /// with the provider, so a restart continues the wait rather than starting it over.
    /// </summary>
    public DateTimeOffset? LowSince { get; set; }

    public string Arn => $"arn:berth:ecs:local:capacity-provider/{Name}";
}

/// <summary>ECS's managedScaling of an Auto Scaling group provider.</summary>
/// <param name="Enabled">status ENABLED (the provider sets its group's desired capacity) or DISABLED.</param>
/// <param name="TargetCapacity">The CapacityProviderReservation to keep, 1-100 percent.</param>
/// <param name="MinimumStep">minimumScalingStepSize, 1-10000.</param>
/// <param name="MaximumStep">maximumScalingStepSize, 1-10000, not below the minimum.</param>
/// <param name="InstanceWarmup">instanceWarmupPeriod: how long a new host does not count toward the group's metrics.</param>
internal sealed record ManagedScaling(bool Enabled, int TargetCapacity, int MinimumStep, int MaximumStep, TimeSpan InstanceWarmup)
{
    /// <summary>ECS's defaults: ENABLED, target 100, steps 1 and 10000, warm-up 300 s.</summary>
    public static ManagedScaling Default { get; } = new(true, 100, 1, 10000, TimeSpan.FromSeconds(300));
}

/// <summary>One item of a capacity provider strategy (ECS's CapacityProviderStrategyItem).</summary>
/// <param name="Provider">The capacity provider's short name.</param>
/// <param name="Base">Tasks, at a minimum, on this provider (0-100000; only one item may have one).</param>
/// <param name="Weight">The relative share of the tasks beyond the base (0-1000).</param>
internal sealed record StrategyItem(string Provider, int Base, int Weight);

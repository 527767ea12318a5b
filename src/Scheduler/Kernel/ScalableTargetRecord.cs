using Berth.Scheduler.Scaling;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A service's scalable target (Application Auto Scaling, issue 18): its bounds, policies, scheduled actions, what the
/// planner remembers between passes (cooldowns, the last look at the schedules) and its recent activities. Owned by its
/// cluster's <see cref="ClusterState.ScalableTargets"/>, read and changed only under the cluster's lock, stored through
/// the transaction like every other record.
/// </summary>
internal sealed class ScalableTargetRecord
{
    public required string Cluster { get; init; }

    /// <summary>The service it scales (its name; one target per service).</summary>
    public required string ServiceName { get; init; }

    /// <summary>Bounds, policies, scheduled actions, planner memory and activities.</summary>
    public required ServiceScaling Scaling { get; init; }

    /// <summary>AAS's resource id: <c>service/&lt;cluster&gt;/&lt;service&gt;</c>.</summary>
    public string ResourceId => $"service/{Cluster}/{ServiceName}";

    /// <summary>The key the metrics are kept under (<see cref="ServiceMetrics"/>).</summary>
    public static string MetricsKey(string cluster, string service) => $"{cluster}/{service}";
}

namespace Berth.Scheduler.Kernel;

/// <summary>A cluster. Owned by its <see cref="ClusterState"/>: read and changed only under the cluster's lock.</summary>
internal sealed class ClusterRecord
{
    public required string Name { get; init; }

    public string Status { get; set; } = Statuses.Active;

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// The cluster's awsvpc task CIDR (<c>10.240.0.0/16</c>), from which each host gets its task subnet; null until it is
    /// given at CreateCluster or chosen from the pool when the first host connects (Networking/HostNetworks).
    /// </summary>
    public string? TaskCidr { get; set; }

    /// <summary>The capacity providers associated with the cluster (PutClusterCapacityProviders), in the order given.</summary>
    public IReadOnlyList<string> CapacityProviders { get; set; } = [];

    /// <summary>The strategy a RunTask or CreateService without launch type or strategy uses; empty for none.</summary>
    public IReadOnlyList<StrategyItem> DefaultStrategy { get; set; } = [];

    public string Arn => Arns.Cluster(Name);
}

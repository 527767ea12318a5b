namespace Berth.Scheduler.Kernel;

/// <summary>A cluster. Owned by its <see cref="ClusterState"/>: read and changed only under the cluster's lock.</summary>
internal sealed class ClusterRecord
{
    public required string Name { get; init; }

    public string Status { get; set; } = Statuses.Active;

    public DateTimeOffset CreatedAt { get; set; }

    public string Arn => Arns.Cluster(Name);
}

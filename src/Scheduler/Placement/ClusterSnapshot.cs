namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable view of one cluster's container instances with the indexes placement needs. Every change returns a
/// successor and leaves this snapshot as it was; successors share structure (copy-on-write chunks), so a change costs
/// O(log n)-ish rather than a copy of the cluster. Thread-safe.
/// </summary>
internal sealed partial class ClusterSnapshot
{
    /// <summary>The cluster name.</summary>
    public string Cluster => throw new NotImplementedException();

    /// <summary>Increases by one with every change; two snapshots of one lineage with equal versions are equal.</summary>
    public long Version => throw new NotImplementedException();

    /// <summary>Number of instances (any status).</summary>
    public int InstanceCount => throw new NotImplementedException();

    /// <summary>All instances, ordered by instance id (ordinal).</summary>
    public IEnumerable<ContainerInstanceView> Instances => throw new NotImplementedException();

    /// <summary>Builds a snapshot. Instance ids must be unique. Cost O(n log n).</summary>
    public static ClusterSnapshot Create(string cluster, IEnumerable<ContainerInstanceView> instances, long version = 0) =>
        throw new NotImplementedException();

    /// <summary>The instance with this id, or null.</summary>
    public ContainerInstanceView? Find(string instanceId) => throw new NotImplementedException();

    /// <summary>
    /// The successor with a task's reservation taken from an instance: CPU, memory, host ports, group and task counts.
    /// Used by placement, and to replay existing tasks after a restart. It does not check that the task fits.
    /// </summary>
    public ClusterSnapshot WithTaskStarted(string instanceId, TaskReservation reservation) => throw new NotImplementedException();

    /// <summary>The successor with a stopped task's reservation given back to its instance.</summary>
    public ClusterSnapshot WithTaskStopped(string instanceId, TaskReservation reservation) => throw new NotImplementedException();

    /// <summary>
    /// The successor with an instance added or replaced (status, agent connection, attributes, resources). Changes of
    /// status, agent connection or resources are incremental; a new instance or changed attributes rebuild the indexes.
    /// </summary>
    public ClusterSnapshot WithInstance(ContainerInstanceView instance) => throw new NotImplementedException();

    /// <summary>The successor without the instance (deregistered and gone); unchanged when absent.</summary>
    public ClusterSnapshot WithoutInstance(string instanceId) => throw new NotImplementedException();
}

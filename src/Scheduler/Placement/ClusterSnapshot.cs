using System.Collections.Concurrent;
using System.Collections.Immutable;
using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable view of one cluster's container instances with the indexes placement needs. Every change returns a
/// successor and leaves this snapshot as it was; successors share structure (copy-on-write chunks), so a change costs
/// O(log n)-ish rather than a copy of the cluster. Thread-safe.
/// </summary>
/// <remarks>
/// Indexes: instances ordered by id (a position each); ACTIVE instances ordered by remaining memory and by remaining
/// CPU; per spread attribute (built on first use, then carried to successors) the same orderings per attribute value
/// with task counts per group; per static memberOf expression a precomputed match per position. A "lineage" is the set
/// of snapshots that share instance ids and attributes: task starts and stops, status, agent connection and resource
/// changes stay in the lineage (incremental), a new or removed instance or changed attributes start a new lineage
/// (rebuild, O(n log n)).
/// </remarks>
internal sealed class ClusterSnapshot
{
    /// <summary>At most this many spread attributes are indexed per lineage; more are built per request.</summary>
    private const int MaxCachedSpreadIndexes = 8;

    private readonly Lineage _lineage;
    private readonly PersistentArray<ContainerInstanceView> _instances;
    private ImmutableDictionary<string, SpreadIndex> _spreadIndexes;

    private ClusterSnapshot(
        Lineage lineage,
        PersistentArray<ContainerInstanceView> instances,
        InstanceBucket all,
        ImmutableDictionary<string, SpreadIndex> spreadIndexes,
        long version)
    {
        _lineage = lineage;
        _instances = instances;
        All = all;
        _spreadIndexes = spreadIndexes;
        Version = version;
    }

    /// <summary>The cluster name.</summary>
    public string Cluster => _lineage.Cluster;

    /// <summary>Increases by one with every change.</summary>
    public long Version { get; }

    /// <summary>Number of instances (any status).</summary>
    public int InstanceCount => _instances.Count;

    /// <summary>All instances, ordered by instance id (ordinal).</summary>
    public IEnumerable<ContainerInstanceView> Instances
    {
        get
        {
            for (var i = 0; i < _instances.Count; i++)
            {
                yield return _instances[i];
            }
        }
    }

    /// <summary>The ACTIVE instances as one bucket (orderings by remaining memory and CPU, task counts per group).</summary>
    internal InstanceBucket All { get; }

    /// <summary>Builds a snapshot. Instance ids must be unique. Cost O(n log n).</summary>
    public static ClusterSnapshot Create(string cluster, IEnumerable<ContainerInstanceView> instances, long version = 0)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(instances);
        var sorted = instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal).ToArray();
        if (sorted.Length > SortedKeyIndex.MaxPosition)
        {
            throw new ArgumentException($"A snapshot holds at most {SortedKeyIndex.MaxPosition} instances.", nameof(instances));
        }

        var positions = new Dictionary<string, int>(sorted.Length, StringComparer.Ordinal);
        for (var i = 0; i < sorted.Length; i++)
        {
            if (!positions.TryAdd(sorted[i].InstanceId, i))
            {
                throw new ArgumentException($"Instance id '{sorted[i].InstanceId}' appears twice.", nameof(instances));
            }
        }

        var all = InstanceBucket.Build(null, sorted.Select((v, i) => (i, v)).Where(m => m.v.Status == InstanceStatus.Active));
        return new ClusterSnapshot(
            new Lineage(cluster, positions),
            PersistentArray<ContainerInstanceView>.From(sorted),
            all,
            ImmutableDictionary<string, SpreadIndex>.Empty.WithComparers(StringComparer.Ordinal),
            version);
    }

    /// <summary>The instance with this id, or null.</summary>
    public ContainerInstanceView? Find(string instanceId) =>
        _lineage.Positions.TryGetValue(instanceId, out var position) ? _instances[position] : null;

    /// <summary>
    /// The successor with a task's reservation taken from an instance: CPU, memory, host ports, group and task counts.
    /// Used by placement, and to replay existing tasks after a restart. It does not check that the task fits.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No instance has this id.</exception>
    public ClusterSnapshot WithTaskStarted(string instanceId, TaskReservation reservation) =>
        WithTaskStartedAt(PositionOf(instanceId), reservation);

    /// <summary>The successor with a stopped task's reservation given back to its instance.</summary>
    /// <exception cref="KeyNotFoundException">No instance has this id.</exception>
    public ClusterSnapshot WithTaskStopped(string instanceId, TaskReservation reservation)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var position = PositionOf(instanceId);
        var old = _instances[position];
        var updated = old with
        {
            RemainingCpu = old.RemainingCpu + reservation.Cpu,
            RemainingMemory = old.RemainingMemory + reservation.Memory,
            UsedPorts = old.UsedPorts.RemoveRange(reservation.HostPorts),
            TaskGroupCounts = AdjustGroup(old.TaskGroupCounts, reservation.Group, -1),
            RunningTasksCount = Math.Max(0, old.RunningTasksCount - 1),
        };
        return ReplaceAt(position, old, updated, (reservation.Group, -1));
    }

    /// <summary>
    /// The successor with an instance added or replaced (status, agent connection, attributes, resources). Changes of
    /// status, agent connection, resources, ports or task counts are incremental; a new instance or a change of
    /// attributes, agent version or registration time rebuilds the snapshot (new lineage).
    /// </summary>
    public ClusterSnapshot WithInstance(ContainerInstanceView instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        if (!_lineage.Positions.TryGetValue(instance.InstanceId, out var position))
        {
            return Create(Cluster, Instances.Append(instance), Version + 1);
        }

        var old = _instances[position];
        var sameStatic = old.AgentVersion == instance.AgentVersion
            && old.RegisteredAt == instance.RegisteredAt
            && (ReferenceEquals(old.Attributes, instance.Attributes)
                || (old.Attributes.Count == instance.Attributes.Count
                    && old.Attributes.All(a => instance.Attributes.TryGetValue(a.Key, out var v) && v == a.Value)));
        return sameStatic
            ? ReplaceAt(position, old, instance, null)
            : Create(Cluster, Instances.Select(i => i.InstanceId == instance.InstanceId ? instance : i), Version + 1);
    }

    /// <summary>The successor without the instance (deregistered and gone); this snapshot when absent.</summary>
    public ClusterSnapshot WithoutInstance(string instanceId) =>
        _lineage.Positions.ContainsKey(instanceId)
            ? Create(Cluster, Instances.Where(i => i.InstanceId != instanceId), Version + 1)
            : this;

    internal ContainerInstanceView At(int position) => _instances[position];

    internal int PositionOf(string instanceId) =>
        _lineage.Positions.TryGetValue(instanceId, out var position)
            ? position
            : throw new KeyNotFoundException($"Instance '{instanceId}' is not in cluster '{Cluster}'.");

    internal ClusterSnapshot WithTaskStartedAt(int position, TaskReservation reservation)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var old = _instances[position];
        var updated = old with
        {
            RemainingCpu = old.RemainingCpu - reservation.Cpu,
            RemainingMemory = old.RemainingMemory - reservation.Memory,
            UsedPorts = reservation.HostPorts.IsDefaultOrEmpty ? old.UsedPorts : old.UsedPorts.AddRange(reservation.HostPorts),
            TaskGroupCounts = AdjustGroup(old.TaskGroupCounts, reservation.Group, 1),
            RunningTasksCount = old.RunningTasksCount + 1,
        };
        return ReplaceAt(position, old, updated, (reservation.Group, 1));
    }

    /// <summary>The spread index for a canonical attribute name: cached for the lineage, built on first use.</summary>
    internal SpreadIndex GetSpreadIndex(string attribute)
    {
        if (_spreadIndexes.TryGetValue(attribute, out var index))
        {
            return index;
        }

        if (_spreadIndexes.Count >= MaxCachedSpreadIndexes)
        {
            return SpreadIndex.Build(attribute, _instances);
        }

        // A memo: building twice on a race is harmless, both results are equal.
        return ImmutableInterlocked.GetOrAdd(ref _spreadIndexes, attribute, a => SpreadIndex.Build(a, _instances));
    }

    /// <summary>
    /// For a memberOf expression that does not depend on instance state: whether each position matches. Computed once
    /// per lineage (attributes, ids, agent versions and registration times are fixed within it).
    /// </summary>
    internal bool[] StaticMatches(ClusterQuery query)
    {
        if (query.DependsOnInstanceState)
        {
            throw new ArgumentException("Only expressions independent of instance state can be precomputed.", nameof(query));
        }

        return _lineage.StaticMatches.GetOrAdd(query.Expression, _ =>
        {
            var matches = new bool[_instances.Count];
            for (var i = 0; i < matches.Length; i++)
            {
                matches[i] = query.Matches(_instances[i]);
            }

            return matches;
        });
    }

    private ClusterSnapshot ReplaceAt(int position, ContainerInstanceView old, ContainerInstanceView updated, (string? Group, int Change)? delta)
    {
        var oldActive = old.Status == InstanceStatus.Active ? old : null;
        var newActive = updated.Status == InstanceStatus.Active ? updated : null;
        var bothActive = oldActive is not null && newActive is not null;
        var all = All;
        var current = Volatile.Read(ref _spreadIndexes);
        var spread = current;
        if (oldActive is not null || newActive is not null)
        {
            var bucketDelta = bothActive ? delta : null;
            all = all.Update(position, oldActive, newActive, bucketDelta);
            foreach (var (attribute, index) in current)
            {
                spread = spread.SetItem(attribute, index.Update(position, oldActive, newActive, bucketDelta));
            }
        }

        return new ClusterSnapshot(_lineage, _instances.SetItem(position, updated), all, spread, Version + 1);
    }

    private static ImmutableDictionary<string, int> AdjustGroup(ImmutableDictionary<string, int> groups, string? group, int change)
    {
        if (group is null)
        {
            return groups;
        }

        var count = groups.GetValueOrDefault(group) + change;
        return count <= 0 ? groups.Remove(group) : groups.SetItem(group, count);
    }

    private sealed class Lineage(string cluster, Dictionary<string, int> positions)
    {
        public string Cluster { get; } = cluster;

        public Dictionary<string, int> Positions { get; } = positions;

        public ConcurrentDictionary<string, bool[]> StaticMatches { get; } = new(StringComparer.Ordinal);
    }
}

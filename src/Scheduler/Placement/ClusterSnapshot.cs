using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>
/// An immutable view of one cluster's container instances with the indexes placement needs. Every change returns a
/// successor and leaves this snapshot as it was; successors share structure (a persistent trie of instances, sorted
/// blocks for the orderings), so a change copies about n/64 references rather than the cluster. Thread-safe.
/// </summary>
/// <remarks>
/// Indexes: instances ordered by id (a position each); per (spread attribute or none, static memberOf filter or none),
/// built on first use and then carried to successors, the ACTIVE instances of each attribute value ordered by remaining
/// memory (and by CPU once binpack(cpu) asks) with task counts per group; per static memberOf expression a precomputed
/// match per position. A "lineage" is the set
/// of snapshots that share instance ids and attributes: task starts and stops, status, agent connection and resource
/// changes stay in the lineage (incremental), a new or removed instance or changed attributes start a new lineage
/// (rebuild, O(n log n)).
/// </remarks>
internal sealed class ClusterSnapshot
{
    /// <summary>At most this many (spread attribute, static filter) indexes are kept per lineage; more are built per request.</summary>
    private const int MaxCachedIndexes = 16;

    private readonly Lineage _lineage;
    private readonly PersistentArray<ContainerInstanceView> _instances;
    // Few (at most MaxCachedIndexes) and updated on every placement: an array copy is cheaper than a dictionary update.
    private ImmutableArray<KeyValuePair<string, SpreadIndex>> _spreadIndexes;

    private ClusterSnapshot(
        Lineage lineage,
        PersistentArray<ContainerInstanceView> instances,
        ImmutableArray<KeyValuePair<string, SpreadIndex>> spreadIndexes,
        long version)
    {
        _lineage = lineage;
        _instances = instances;
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

        return new ClusterSnapshot(new Lineage(cluster, positions), PersistentArray<ContainerInstanceView>.From(sorted), [], version);
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

    /// <summary>
    /// The index of ACTIVE instances that pass <paramref name="filter"/> (null: all), bucketed by
    /// <paramref name="attribute"/> (null: one bucket). Cached for the lineage on first use and kept up to date in
    /// successors; beyond <see cref="MaxCachedIndexes"/> combinations it is built for the caller alone.
    /// </summary>
    internal SpreadIndex GetSpreadIndex(string? attribute, StaticFilter? filter)
    {
        var key = (attribute ?? "") + "\u0001" + filter?.Key;
        while (true)
        {
            var indexes = _spreadIndexes;
            foreach (var (cachedKey, cached) in indexes)
            {
                if (cachedKey == key)
                {
                    return cached;
                }
            }

            var index = SpreadIndex.Build(attribute, _instances, filter?.Matches);
            if (indexes.Length >= MaxCachedIndexes)
            {
                return index;
            }

            // A memo: on a race the loser looks again and finds the winner's (equal) index.
            if (ImmutableInterlocked.InterlockedCompareExchange(ref _spreadIndexes, indexes.Add(new(key, index)), indexes) == indexes)
            {
                return index;
            }
        }
    }

    /// <summary>
    /// The conjunction of memberOf expressions that do not depend on instance state, as a match per position; null
    /// when there are none. Computed once per lineage: attributes, ids, agent versions and registration times are
    /// fixed within it.
    /// </summary>
    internal StaticFilter? GetStaticFilter(IEnumerable<ClusterQuery> queries)
    {
        var list = queries.Where(q => !q.DependsOnInstanceState).DistinctBy(q => q.Expression).OrderBy(q => q.Expression, StringComparer.Ordinal).ToList();
        if (list.Count == 0)
        {
            return null;
        }

        var key = string.Join("\n&&\n", list.Select(q => q.Expression));
        var matches = _lineage.StaticMatches.GetOrAdd(key, _ =>
        {
            var result = new bool[_instances.Count];
            for (var i = 0; i < result.Length; i++)
            {
                var view = _instances[i];
                result[i] = list.TrueForAll(q => q.Matches(view));
            }

            return result;
        });
        return new StaticFilter(key, matches);
    }

    private ClusterSnapshot ReplaceAt(int position, ContainerInstanceView old, ContainerInstanceView updated, (string? Group, int Change)? delta)
    {
        var oldActive = old.Status == InstanceStatus.Active ? old : null;
        var newActive = updated.Status == InstanceStatus.Active ? updated : null;
        var bothActive = oldActive is not null && newActive is not null;
        var spread = _spreadIndexes;
        if ((oldActive is not null || newActive is not null) && spread.Length > 0)
        {
            var bucketDelta = bothActive ? delta : null;
            var updatedIndexes = new KeyValuePair<string, SpreadIndex>[spread.Length];
            for (var i = 0; i < spread.Length; i++)
            {
                updatedIndexes[i] = new(spread[i].Key, spread[i].Value.Update(position, oldActive, newActive, bucketDelta));
            }

            spread = ImmutableCollectionsMarshal.AsImmutableArray(updatedIndexes);
        }

        return new ClusterSnapshot(_lineage, _instances.SetItem(position, updated), spread, Version + 1);
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

    /// <summary>A static memberOf filter: its cache key and whether each position matches.</summary>
    internal sealed record StaticFilter(string Key, bool[] Matches);

    private sealed class Lineage(string cluster, Dictionary<string, int> positions)
    {
        public string Cluster { get; } = cluster;

        public Dictionary<string, int> Positions { get; } = positions;

        public ConcurrentDictionary<string, bool[]> StaticMatches { get; } = new(StringComparer.Ordinal);
    }
}

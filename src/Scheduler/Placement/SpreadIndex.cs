using System.Collections.Immutable;

namespace Berth.Scheduler.Placement;

/// <summary>
/// The ACTIVE instances of one bucket (one value of a spread attribute, or the whole cluster) ordered by remaining
/// memory and by remaining CPU, with the bucket's task counts per group. Immutable.
/// </summary>
internal sealed class InstanceBucket(
    string? value,
    SortedKeyIndex byMemory,
    SortedKeyIndex? byCpu,
    ImmutableDictionary<string, int>? groupCounts,
    int taskCount,
    ImmutableArray<KeyValuePair<string, GroupLevel>> levels)
{
    /// <summary>At most this many groups keep a <see cref="GroupLevel"/> per bucket; more are computed per request.</summary>
    private const int MaxCachedLevels = 8;

    // The CPU ordering is needed only by binpack(cpu): built on first use (a memo, so racing builds are harmless) and
    // then kept up to date in successors; a cluster that never binpacks on CPU never pays for it.
    private SortedKeyIndex? _byCpu = byCpu;

    // Per task group that spread(instanceId) asked about: the lowest count on a member (a memo like the CPU ordering,
    // then kept up to date in successors, or dropped when it cannot be kept exactly and recomputed on the next ask).
    private ImmutableArray<KeyValuePair<string, GroupLevel>> _levels = levels.IsDefault ? [] : levels;

    /// <summary>The attribute value; null for instances without the attribute (and for the whole-cluster bucket).</summary>
    public string? Value { get; } = value;

    public SortedKeyIndex ByMemory { get; } = byMemory;

    /// <summary>The members ordered by remaining CPU; <paramref name="snapshot"/> supplies the views on first use.</summary>
    public SortedKeyIndex ByCpu(ClusterSnapshot snapshot)
    {
        var index = Volatile.Read(ref _byCpu);
        if (index is not null)
        {
            return index;
        }

        var keys = new long[ByMemory.Count];
        var others = new int[keys.Length];
        var cursor = ByMemory.From(long.MinValue);
        var i = 0;
        while (cursor.MoveNext())
        {
            var position = SortedKeyIndex.PositionOf(cursor.Current);
            var view = snapshot.At(position);
            others[i] = view.RemainingMemory;
            keys[i++] = SortedKeyIndex.Key(view.RemainingCpu, position);
        }

        index = SortedKeyIndex.Build(keys, others);
        return Interlocked.CompareExchange(ref _byCpu, index, null) ?? index;
    }

    /// <summary>
    /// Tasks per group in the bucket, for spread; null in buckets that nothing spreads over (the whole cluster, a
    /// memberOf partition), which then save the update on every placement.
    /// </summary>
    public ImmutableDictionary<string, int>? GroupCounts { get; } = groupCounts;

    public int TaskCount { get; } = taskCount;

    /// <summary>
    /// The lowest number of tasks of <paramref name="group"/> on any member (0 for an empty bucket). O(members) on the
    /// first ask after the lowest count rose, then O(1): the lowest count of a group that is being spread rises once per
    /// member placements, so the scans cost O(1) per placement.
    /// </summary>
    public int LowestCount(string group, ClusterSnapshot snapshot)
    {
        while (true)
        {
            var levels = _levels;
            foreach (var (cachedGroup, cached) in levels)
            {
                if (cachedGroup == group)
                {
                    return cached.Level;
                }
            }

            if (ByMemory.Count == 0)
            {
                return 0;
            }

            var level = GroupLevel.Of(group, ByMemory, snapshot);
            if (levels.Length >= MaxCachedLevels
                || ImmutableInterlocked.InterlockedCompareExchange(ref _levels, levels.Add(new(group, level)), levels) == levels)
            {
                return level.Level;
            }
        }
    }

    public int InstanceCount => ByMemory.Count;

    /// <summary>Tasks of <paramref name="group"/> in the bucket; all tasks when the group is null.</summary>
    public int Count(string? group) => group is null
        ? TaskCount
        : (GroupCounts ?? throw new InvalidOperationException("This bucket does not count tasks per group.")).GetValueOrDefault(group);

    public static InstanceBucket Build(string? value, IEnumerable<(int Position, ContainerInstanceView View)> members, bool countGroups)
    {
        var memory = new List<long>();
        var cpu = new List<int>();
        var groups = new Dictionary<string, int>(StringComparer.Ordinal);
        var tasks = 0;
        foreach (var (position, view) in members)
        {
            memory.Add(SortedKeyIndex.Key(view.RemainingMemory, position));
            cpu.Add(view.RemainingCpu);
            tasks += view.RunningTasksCount;
            if (countGroups)
            {
                foreach (var (group, count) in view.TaskGroupCounts)
                {
                    groups[group] = groups.GetValueOrDefault(group) + count;
                }
            }
        }

        return new InstanceBucket(
            value,
            SortedKeyIndex.Build([.. memory], [.. cpu]),
            null,
            countGroups ? groups.Where(g => g.Value != 0).ToImmutableDictionary(StringComparer.Ordinal) : null,
            tasks,
            []);
    }

    /// <summary>The bucket after one member changed from <paramref name="old"/> to <paramref name="updated"/>.</summary>
    /// <param name="position">The member's position.</param>
    /// <param name="old">The view before, or null when the instance joins the bucket.</param>
    /// <param name="updated">The view after, or null when the instance leaves the bucket.</param>
    /// <param name="delta">When only one group's count changed, that group and the change (a fast path).</param>
    public InstanceBucket Update(int position, ContainerInstanceView? old, ContainerInstanceView? updated, (string? Group, int Change)? delta)
    {
        var byMemory = ByMemory.Replace(
            old is null ? null : SortedKeyIndex.Key(old.RemainingMemory, position),
            updated is null ? null : SortedKeyIndex.Key(updated.RemainingMemory, position),
            updated?.RemainingCpu ?? 0);
        var byCpu = Volatile.Read(ref _byCpu)?.Replace(
            old is null ? null : SortedKeyIndex.Key(old.RemainingCpu, position),
            updated is null ? null : SortedKeyIndex.Key(updated.RemainingCpu, position),
            updated?.RemainingMemory ?? 0);
        var groups = GroupCounts;
        var tasks = TaskCount - (old?.RunningTasksCount ?? 0) + (updated?.RunningTasksCount ?? 0);
        if (groups is null)
        {
            // Not counting groups.
        }
        else if (delta is { } d && old is not null && updated is not null)
        {
            if (d.Group is not null)
            {
                groups = Adjust(groups, d.Group, d.Change);
            }
        }
        else
        {
            foreach (var (group, count) in old?.TaskGroupCounts ?? [])
            {
                groups = Adjust(groups, group, -count);
            }

            foreach (var (group, count) in updated?.TaskGroupCounts ?? [])
            {
                groups = Adjust(groups, group, count);
            }
        }

        return new InstanceBucket(Value, byMemory, byCpu, groups, tasks, GroupLevel.Update(_levels, old, updated, delta));
    }

    private static ImmutableDictionary<string, int> Adjust(ImmutableDictionary<string, int> groups, string group, int change)
    {
        var count = groups.GetValueOrDefault(group) + change;
        return count == 0 ? groups.Remove(group) : groups.SetItem(group, count);
    }
}

/// <summary>
/// The ACTIVE instances of a snapshot that pass a static filter (the request's memberOf expressions that depend only on
/// attributes, ids, agent versions and registration times; none = all), partitioned by the value of one attribute for
/// <c>spread(attribute:X)</c>, or in a single bucket when the attribute is null.
/// Which bucket an instance belongs to depends only on its attributes, which are fixed within a snapshot lineage, so the
/// position-to-bucket map is shared by all successors; only the touched buckets are replaced on a change.
/// </summary>
internal sealed class SpreadIndex
{
    private readonly int[] _bucketOf;

    private SpreadIndex(string? attribute, int[] bucketOf, ImmutableArray<InstanceBucket> buckets)
    {
        Attribute = attribute;
        _bucketOf = bucketOf;
        Buckets = buckets;
    }

    public string? Attribute { get; }

    /// <summary>One bucket per distinct value, plus one for instances without the attribute when there are any.</summary>
    public ImmutableArray<InstanceBucket> Buckets { get; }

    /// <summary>The bucket of a position; -1 when the static filter excludes it.</summary>
    public int BucketOf(int position) => _bucketOf[position];

    public static SpreadIndex Build(string? attribute, PersistentArray<ContainerInstanceView> instances, bool[]? filter)
    {
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var missingSlot = -1;
        var bucketOf = new int[instances.Count];
        var members = new List<List<(int, ContainerInstanceView)>>();
        var values = new List<string?>();
        for (var i = 0; i < instances.Count; i++)
        {
            var view = instances[i];
            if (filter is not null && !filter[i])
            {
                bucketOf[i] = -1;
                continue;
            }

            var value = attribute is not null && view.Attributes.TryGetValue(attribute, out var v) ? v : null;
            int slot;
            if (value is null)
            {
                if (missingSlot < 0)
                {
                    missingSlot = members.Count;
                    members.Add([]);
                    values.Add(null);
                }

                slot = missingSlot;
            }
            else if (!slots.TryGetValue(value, out slot))
            {
                slot = members.Count;
                slots[value] = slot;
                members.Add([]);
                values.Add(value);
            }

            bucketOf[i] = slot;
            if (view.Status == InstanceStatus.Active)
            {
                members[slot].Add((i, view));
            }
        }

        return new SpreadIndex(attribute, bucketOf, [.. members.Select((m, s) => InstanceBucket.Build(values[s], m, countGroups: attribute is not null))]);
    }

    public SpreadIndex Update(int position, ContainerInstanceView? oldActive, ContainerInstanceView? newActive, (string? Group, int Change)? delta)
    {
        var slot = _bucketOf[position];
        if (slot < 0)
        {
            return this;
        }

        var bucket = Buckets[slot].Update(position, oldActive, newActive, delta);
        return new SpreadIndex(Attribute, _bucketOf, Buckets.SetItem(slot, bucket));
    }
}

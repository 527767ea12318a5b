using System.Collections.Immutable;

namespace Berth.Scheduler.Placement;

/// <summary>
/// The lowest number of tasks of one group on the members of an <see cref="InstanceBucket"/>, and how many members
/// have exactly that many. spread(instanceId) wants an instance at that level: knowing it, the walk by remaining
/// memory can stop at the first feasible instance at the level instead of scanning every member once all of them
/// host the group (which made spread(instanceId) O(instances) per task).
/// </summary>
internal readonly record struct GroupLevel(int Level, int AtLevel)
{
    /// <summary>Computes the level by visiting every member.</summary>
    public static GroupLevel Of(string group, SortedKeyIndex members, ClusterSnapshot snapshot)
    {
        var level = int.MaxValue;
        var atLevel = 0;
        var cursor = members.From(long.MinValue);
        while (cursor.MoveNext())
        {
            var count = snapshot.At(SortedKeyIndex.PositionOf(cursor.Current)).TaskCount(group);
            if (count < level)
            {
                level = count;
                atLevel = 1;
            }
            else if (count == level)
            {
                atLevel++;
            }
        }

        return new GroupLevel(level, atLevel);
    }

    /// <summary>
    /// The levels after one member changed. A member joining or leaving drops every level (recomputed when next asked);
    /// a count falling below the level makes that member the only one at the new level; the last member leaving the
    /// level drops it (the new lowest count is unknown without a scan).
    /// </summary>
    public static ImmutableArray<KeyValuePair<string, GroupLevel>> Update(
        ImmutableArray<KeyValuePair<string, GroupLevel>> levels,
        ContainerInstanceView? old,
        ContainerInstanceView? updated,
        (string? Group, int Change)? delta)
    {
        if (levels.IsDefaultOrEmpty)
        {
            return [];
        }

        if (old is null || updated is null)
        {
            return [];
        }

        ImmutableArray<KeyValuePair<string, GroupLevel>>.Builder? changed = null;
        for (var i = 0; i < levels.Length; i++)
        {
            var (group, level) = levels[i];
            if (delta is { } d && d.Group != group)
            {
                changed?.Add(levels[i]);
                continue;
            }

            var before = old.TaskCount(group);
            var after = updated.TaskCount(group);
            if (before == after)
            {
                changed?.Add(levels[i]);
                continue;
            }

            if (changed is null)
            {
                changed = ImmutableArray.CreateBuilder<KeyValuePair<string, GroupLevel>>(levels.Length);
                for (var j = 0; j < i; j++)
                {
                    changed.Add(levels[j]);
                }
            }

            if (After(level, before, after) is { } next)
            {
                changed.Add(new(group, next));
            }
        }

        return changed is null ? levels : changed.ToImmutable();
    }

    /// <summary>The level after one member's count went from <paramref name="before"/> to <paramref name="after"/>; null when unknown.</summary>
    internal static GroupLevel? After(GroupLevel level, int before, int after)
    {
        if (after < level.Level)
        {
            return new GroupLevel(after, 1);
        }

        var atLevel = level.AtLevel - (before == level.Level ? 1 : 0) + (after == level.Level ? 1 : 0);
        return atLevel == 0 ? null : level with { AtLevel = atLevel };
    }
}

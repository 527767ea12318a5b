namespace Berth.Scheduler.Placement;

/// <summary>
/// Picks the best instance for one task: the feasible instance that is smallest in the lexicographic order of the
/// strategy chain. The order, exactly (<see cref="SelectByScan"/> implements it literally and the indexed paths agree):
/// <list type="bullet">
/// <item><c>spread(attribute:X)</c>: fewer tasks of the group on ACTIVE instances with the same value of X first;</item>
/// <item><c>spread(instanceId)</c>: fewer tasks of the group on the instance first;</item>
/// <item><c>binpack(cpu|memory)</c>: less of that resource remaining first;</item>
/// <item><c>random</c>: a uniformly random feasible instance (nothing after it matters);</item>
/// <item>then, when the chain ends with binpack, the lowest instance id; otherwise the most remaining memory and then the
/// highest instance id.</item>
/// </list>
/// Indexed paths: spread by attribute walks the value buckets in order of their counts; binpack does a lower-bound search
/// in the bucket's ordering by the resource; the default order walks the ordering by memory from the top; random samples
/// positions. Each skips only instances that fail a check, so the cost per task does not grow with the cluster size;
/// when many skipped instances host the group that distinctInstance or spread(instanceId) avoids, the search switches
/// to the group's hosting bitmap.
/// spread(instanceId) and strategies after a binpack tie or a second spread fall back to <see cref="SelectByScan"/>
/// over the candidate set (see docs/placement.md).
/// </summary>
internal static class PlacementChooser
{
    private const int RandomSamples = 64;

    /// <summary>After this many candidates that do not fit, distinctInstance and spread(instanceId) switch to the
    /// group's hosting bitmap instead of skipping hosting instances one by one.</summary>
    private const int MissesBeforeComplement = 32;

    public static int Choose(ClusterSnapshot snapshot, PlacementContext context)
    {
        if (context.Strategies.Count > 0 && context.Strategies[0].SpreadAttribute is { } attribute)
        {
            return SelectSpreadAttribute(snapshot, context, attribute, 0);
        }

        // With static memberOf expressions, start from the index of the instances that satisfy them, so that the
        // instances they exclude are never visited.
        IReadOnlyList<InstanceBucket> sources = snapshot.GetSpreadIndex(null, context.Filter).Buckets;
        return Select(snapshot, context, sources, 0, isWholeCluster: true);
    }

    private static int Select(ClusterSnapshot s, PlacementContext c, IReadOnlyList<InstanceBucket> sources, int p, bool isWholeCluster)
    {
        if (p == c.Strategies.Count)
        {
            // Only reached when the chain does not end with binpack (a final binpack answers by itself).
            return SelectDefault(s, c, sources);
        }

        var strategy = c.Strategies[p];
        return strategy.Type switch
        {
            PlacementStrategyType.Binpack => SelectBinpack(s, c, sources, p, strategy.Field == "cpu"),
            PlacementStrategyType.Random => SelectRandom(s, c, sources),
            _ when strategy.SpreadAttribute is { } attribute && isWholeCluster => SelectSpreadAttribute(s, c, attribute, p),
            _ when strategy.SpreadAttribute is null && p == c.Strategies.Count - 1 => SelectSpreadInstanceLast(s, c, sources, p),
            _ => SelectByScan(s, c, Members(sources), p),
        };
    }

    /// <summary>No strategy left: most remaining memory, then the highest position.</summary>
    private static int SelectDefault(ClusterSnapshot s, PlacementContext c, IReadOnlyList<InstanceBucket> sources)
    {
        var best = long.MinValue;
        var misses = 0;
        foreach (var source in sources)
        {
            var cursor = source.ByMemory.Descending(c.Cpu);
            while (cursor.MoveNext())
            {
                var key = cursor.Current;
                if (key <= best || SortedKeyIndex.AmountOf(key) < c.Memory)
                {
                    break;
                }

                var position = SortedKeyIndex.PositionOf(key);
                if (c.Check(s.At(position), position) == FitStage.Fits)
                {
                    best = key;
                    break;
                }

                if (++misses == MissesBeforeComplement && c.Distinct && c.Group is not null)
                {
                    return SelectByScan(s, c, NotHosting(s, c.Group, sources), c.Strategies.Count);
                }
            }
        }

        return best == long.MinValue ? -1 : SortedKeyIndex.PositionOf(best);
    }

    private static int SelectBinpack(ClusterSnapshot s, PlacementContext c, IReadOnlyList<InstanceBucket> sources, int p, bool cpu)
    {
        var need = cpu ? c.Cpu : c.Memory;
        var lower = SortedKeyIndex.Key(need, 0);
        var best = long.MaxValue;
        var misses = 0;
        foreach (var source in sources)
        {
            var cursor = cpu ? source.ByCpu(s).From(lower, c.Memory) : source.ByMemory.From(lower, c.Cpu);
            while (cursor.MoveNext())
            {
                var key = cursor.Current;
                if (key >= best)
                {
                    break;
                }

                var position = SortedKeyIndex.PositionOf(key);
                if (c.Check(s.At(position), position) == FitStage.Fits)
                {
                    best = key;
                    break;
                }

                if (++misses == MissesBeforeComplement && c.Distinct && c.Group is not null)
                {
                    return SelectByScan(s, c, NotHosting(s, c.Group, sources), p);
                }
            }
        }

        if (best == long.MaxValue)
        {
            return -1;
        }

        if (p == c.Strategies.Count - 1)
        {
            return SortedKeyIndex.PositionOf(best);
        }

        // Later strategies break ties among the instances with exactly this much remaining.
        var amount = SortedKeyIndex.AmountOf(best);
        var ties = new List<int>();
        foreach (var source in sources)
        {
            var cursor = cpu ? source.ByCpu(s).From(SortedKeyIndex.Key(amount, 0)) : source.ByMemory.From(SortedKeyIndex.Key(amount, 0));
            while (cursor.MoveNext() && SortedKeyIndex.AmountOf(cursor.Current) == amount)
            {
                ties.Add(SortedKeyIndex.PositionOf(cursor.Current));
            }
        }

        return SelectByScan(s, c, ties, p + 1);
    }

    private static int SelectRandom(ClusterSnapshot s, PlacementContext c, IReadOnlyList<InstanceBucket> sources)
    {
        var total = 0;
        foreach (var source in sources)
        {
            total += source.InstanceCount;
        }

        if (total == 0)
        {
            return -1;
        }

        for (var attempt = 0; attempt < RandomSamples; attempt++)
        {
            var rank = c.Random.Next(total);
            foreach (var source in sources)
            {
                if (rank < source.InstanceCount)
                {
                    var position = SortedKeyIndex.PositionOf(source.ByMemory.ElementAt(rank));
                    if (c.Check(s.At(position), position) == FitStage.Fits)
                    {
                        return position;
                    }

                    break;
                }

                rank -= source.InstanceCount;
            }
        }

        // Mostly infeasible: choose uniformly among the feasible ones.
        var feasible = Members(sources).Where(position => c.Check(s.At(position), position) == FitStage.Fits).ToList();
        return feasible.Count == 0 ? -1 : feasible[c.Random.Next(feasible.Count)];
    }

    private static int SelectSpreadAttribute(ClusterSnapshot s, PlacementContext c, string attribute, int p)
    {
        var index = s.GetSpreadIndex(attribute, c.Filter);
        var buckets = new InstanceBucket[index.Buckets.Length];
        var counts = new int[buckets.Length];
        var n = 0;
        foreach (var bucket in index.Buckets)
        {
            if (bucket.InstanceCount > 0)
            {
                buckets[n] = bucket;
                counts[n++] = bucket.Count(c.Group);
            }
        }

        Array.Resize(ref buckets, n);
        Array.Resize(ref counts, n);
        Array.Sort(counts, buckets);
        var i = 0;
        while (i < buckets.Length)
        {
            var j = i;
            while (j < buckets.Length && counts[j] == counts[i])
            {
                j++;
            }

            var position = Select(s, c, buckets[i..j], p + 1, isWholeCluster: false);
            if (position >= 0)
            {
                return position;
            }

            i = j;
        }

        return -1;
    }

    /// <summary>
    /// spread(instanceId) as the last strategy: no instance of the sources has fewer tasks of the group than the lowest
    /// level among them (<see cref="InstanceBucket.LowestCount"/>), so walking the default order (most remaining memory
    /// first), the first feasible instance at that level is the answer. Only when none is found quickly does this scan
    /// the candidates.
    /// </summary>
    private static int SelectSpreadInstanceLast(ClusterSnapshot s, PlacementContext c, IReadOnlyList<InstanceBucket> sources, int p)
    {
        var levels = new int[sources.Count];
        var target = int.MaxValue;
        for (var i = 0; i < sources.Count; i++)
        {
            levels[i] = c.Group is null ? 0 : sources[i].LowestCount(c.Group, s);
            target = Math.Min(target, levels[i]);
        }

        var best = long.MinValue;
        var misses = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            if (levels[i] != target)
            {
                // Nothing in this source is at the lowest level.
                continue;
            }

            var cursor = sources[i].ByMemory.Descending(c.Cpu);
            while (cursor.MoveNext())
            {
                var key = cursor.Current;
                if (key <= best || SortedKeyIndex.AmountOf(key) < c.Memory)
                {
                    break;
                }

                var position = SortedKeyIndex.PositionOf(key);
                var view = s.At(position);
                if (c.InstanceTaskCount(view) == target && c.Check(view, position) == FitStage.Fits)
                {
                    best = key;
                    break;
                }

                if (++misses == MissesBeforeComplement && c.Group is not null)
                {
                    // Many instances above the level, or not fitting: when the level is 0, look only at those that do
                    // not host the group; scan everything only when that finds nothing.
                    var free = target == 0 ? SelectByScan(s, c, NotHosting(s, c.Group, sources), p) : -1;
                    return free >= 0 ? free : SelectByScan(s, c, Members(sources), p);
                }
            }
        }

        return best != long.MinValue ? SortedKeyIndex.PositionOf(best) : SelectByScan(s, c, Members(sources), p);
    }

    /// <summary>
    /// The positions in <paramref name="sources"/> that host no task of <paramref name="group"/>, from the group's hosting
    /// bitmap: O(n/64) words plus the instances returned, whatever the number that host the group.
    /// </summary>
    private static IEnumerable<int> NotHosting(ClusterSnapshot s, string group, IReadOnlyList<InstanceBucket> sources)
    {
        var hosting = s.GetHostingSet(group);
        for (var w = 0; w < hosting.Count; w++)
        {
            var free = ~hosting[w];
            while (free != 0)
            {
                var position = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(free);
                free &= free - 1;
                if (position >= s.InstanceCount)
                {
                    break;
                }

                var key = SortedKeyIndex.Key(s.At(position).RemainingMemory, position);
                foreach (var source in sources)
                {
                    if (source.ByMemory.Contains(key))
                    {
                        yield return position;
                        break;
                    }
                }
            }
        }
    }

    private static IEnumerable<int> Members(IReadOnlyList<InstanceBucket> sources)
    {
        foreach (var source in sources)
        {
            var cursor = source.ByMemory.From(long.MinValue);
            while (cursor.MoveNext())
            {
                yield return SortedKeyIndex.PositionOf(cursor.Current);
            }
        }
    }

    /// <summary>
    /// The reference evaluation: computes every feasible candidate's full key for strategies p.. and takes the minimum.
    /// Linear in the number of candidates; used for the chains the indexes do not cover, and by tests as the oracle.
    /// </summary>
    internal static int SelectByScan(ClusterSnapshot s, PlacementContext c, IEnumerable<int> candidates, int p)
    {
        var strategies = c.Strategies;
        var endsWithBinpack = strategies.Count > 0 && strategies[^1].Type == PlacementStrategyType.Binpack;
        var spreadIndexes = new SpreadIndex?[strategies.Count];
        for (var q = p; q < strategies.Count; q++)
        {
            if (strategies[q].SpreadAttribute is { } attribute)
            {
                spreadIndexes[q] = s.GetSpreadIndex(attribute, c.Filter);
            }
        }

        var width = strategies.Count - p + 2;
        var bestKey = new long[width];
        var key = new long[width];
        var bestPosition = -1;
        foreach (var position in candidates)
        {
            var view = s.At(position);
            if (c.Check(view, position) != FitStage.Fits)
            {
                continue;
            }

            var k = 0;
            var random = false;
            for (var q = p; q < strategies.Count && !random; q++)
            {
                var strategy = strategies[q];
                key[k++] = strategy.Type switch
                {
                    PlacementStrategyType.Binpack => strategy.Field == "cpu" ? view.RemainingCpu : view.RemainingMemory,
                    PlacementStrategyType.Random => c.Random.NextInt64(),
                    _ when spreadIndexes[q] is { } index => index.Buckets[index.BucketOf(position)].Count(c.Group),
                    _ => c.InstanceTaskCount(view),
                };
                random = strategy.Type == PlacementStrategyType.Random;
            }

            if (endsWithBinpack)
            {
                key[k++] = position;
            }
            else
            {
                key[k++] = -SortedKeyIndex.Key(view.RemainingMemory, position);
            }

            if (bestPosition < 0 || Less(key.AsSpan(0, k), bestKey.AsSpan(0, k)))
            {
                key.AsSpan(0, k).CopyTo(bestKey);
                bestPosition = position;
            }
        }

        return bestPosition;
    }

    private static bool Less(ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return a[i] < b[i];
            }
        }

        return false;
    }
}

using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// How a capacity provider strategy divides a number of tasks among its providers, as ECS documents it: the provider
/// with a base gets up to that many first; the tasks beyond the base go by weight ("if you specify a weight of 1 for
/// capacityProviderA and a weight of 4 for capacityProviderB, then for every one task that's run using
/// capacityProviderA, four tasks would use capacityProviderB"), and a provider of weight 0 gets none of them. A pure
/// function over a strategy that <see cref="Ecs.Check(IReadOnlyList{StrategyItem})"/> accepted.
/// </summary>
internal static class StrategySplit
{
    /// <summary>
    /// The number of tasks per item of <paramref name="strategy"/> (same order) for <paramref name="count"/> tasks
    /// launched together. <paramref name="existing"/>, when given, is what each item already runs (a service's tasks):
    /// the base counts them, and the weights share the total, so a service that grows keeps its ratio.
    /// </summary>
    public static int[] Split(IReadOnlyList<StrategyItem> strategy, int count, IReadOnlyList<int>? existing = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var have = existing?.ToArray() ?? new int[strategy.Count];
        if (have.Length != strategy.Count)
        {
            throw new ArgumentException("One existing count per strategy item.", nameof(existing));
        }

        var result = new int[strategy.Count];
        var left = count;

        // The base first: only one item may have one (Ecs.Check).
        for (var i = 0; i < strategy.Count && left > 0; i++)
        {
            var missing = Math.Max(0, strategy[i].Base - have[i]);
            var take = Math.Min(missing, left);
            result[i] += take;
            left -= take;
        }

        // Then one task at a time to the weighted item furthest below its share of the tasks beyond the base: the least
        // (tasks beyond base + 1) / weight, ties to the first listed. Over a whole round of the weights this gives
        // each item exactly its weight, so 1:4 puts one on A for every four on B whatever the count.
        var beyond = new long[strategy.Count];
        for (var i = 0; i < strategy.Count; i++)
        {
            beyond[i] = Math.Max(0, have[i] + result[i] - strategy[i].Base);
        }

        for (; left > 0; left--)
        {
            var best = -1;
            for (var i = 0; i < strategy.Count; i++)
            {
                if (strategy[i].Weight == 0)
                {
                    continue;
                }

                // (beyond[i] + 1) / weight[i] < (beyond[best] + 1) / weight[best], in integers.
                if (best < 0 || (beyond[i] + 1) * strategy[best].Weight < (beyond[best] + 1) * strategy[i].Weight)
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                // Every weight is 0 (only a base): ECS refuses such a strategy, so nothing more can be placed.
                break;
            }

            result[best]++;
            beyond[best]++;
        }

        return result;
    }
}

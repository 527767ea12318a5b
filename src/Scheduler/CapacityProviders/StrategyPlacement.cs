using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// Places tasks launched with a capacity provider strategy: <see cref="StrategySplit"/> divides them among the providers,
/// and each provider's share is placed only on its host group's registered hosts (a memberOf constraint added to the
/// request's own, so the request's placement strategy and constraints still apply within the group, and spread and
/// distinctInstance still count the cluster's tasks). A Fargate provider's share is placed as FARGATE tasks are.
/// </summary>
internal static class StrategyPlacement
{
    /// <summary>A provider's share: its name and what placement made of it.</summary>
    public readonly record struct Share(string Provider, PlacementResult Result);

    /// <summary>
    /// Places <paramref name="request"/>'s tasks divided by <paramref name="strategy"/> (what each item already runs in
    /// <paramref name="existing"/>, for a service). Each share's placements are adopted into <paramref name="tx"/> before
    /// the next share is placed, so the shares are in order and the last one's snapshot holds them all.
    /// </summary>
    public static List<Share> Place(ClusterTransaction tx, PlacementEngine engine, PlacementRequest request, IReadOnlyList<StrategyItem> strategy, IReadOnlyList<int>? existing = null)
    {
        var split = StrategySplit.Split(strategy, request.Count, existing);
        var shares = new List<Share>(strategy.Count);
        for (var i = 0; i < strategy.Count; i++)
        {
            if (split[i] == 0)
            {
                continue;
            }

            var provider = strategy[i].Provider;
            var snapshot = tx.Cluster.Snapshot;
            PlacementResult result;
            if (Ecs.FargateProviders.Contains(provider))
            {
                result = engine.Place(snapshot, request with { Count = split[i] });
            }
            else if (HostsOf(tx.Cluster, provider) is { Count: > 0 } hosts)
            {
                var onGroup = PlacementConstraint.MemberOf($"instanceId in [{string.Join(", ", hosts)}]");
                result = engine.Place(snapshot, request with { Count = split[i], Constraints = [.. request.Constraints, onGroup] });
            }
            else
            {
                result = Unplaceable(snapshot, split[i], provider, tx.Cluster);
            }

            tx.AdoptPlacement(result.Snapshot);
            shares.Add(new Share(provider, result));
        }

        return shares;
    }

    /// <summary>What each item of <paramref name="strategy"/> runs among <paramref name="tasks"/> (by their capacityProviderName).</summary>
    public static int[] Existing(IReadOnlyList<StrategyItem> strategy, IEnumerable<TaskRecord> tasks)
    {
        var counts = new int[strategy.Count];
        foreach (var task in tasks)
        {
            for (var i = 0; i < strategy.Count; i++)
            {
                if (strategy[i].Provider == task.CapacityProviderName)
                {
                    counts[i]++;
                    break;
                }
            }
        }

        return counts;
    }

    /// <summary>The container instances the provider's host group has registered (and the cluster still knows).</summary>
    private static List<string> HostsOf(ClusterState cluster, string provider)
    {
        if (!cluster.CapacityProviders.TryGetValue(provider, out var record) || !cluster.HostGroups.TryGetValue(record.HostGroup, out var group))
        {
            return [];
        }

        return [.. group.Hosts
            .Select(h => h.InstanceId)
            .OfType<string>()
            .Where(cluster.Instances.ContainsKey)];
    }

    // Until tasks can wait in PROVISIONING for the group to grow, a provider without hosts fails its share the way
    // placement fails a task no host can take: one failure per task, naming the provider and its group.
    private static PlacementResult Unplaceable(ClusterSnapshot snapshot, int count, string provider, ClusterState cluster)
    {
        var group = cluster.CapacityProviders.TryGetValue(provider, out var record) ? record.HostGroup : "";
        var failure = new PlacementFailure(null, CapacityFailure, $"Capacity provider '{provider}' has no registered hosts (host group '{group}').");
        return new PlacementResult(snapshot, snapshot, [], [.. Enumerable.Repeat(failure, count)]);
    }

    /// <summary>The failure reason of a task whose capacity provider has no hosts to place it on.</summary>
    public const string CapacityFailure = "CAPACITY_PROVIDER";
}

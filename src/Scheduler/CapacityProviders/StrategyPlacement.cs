using System.Collections.Immutable;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// Places tasks launched with a capacity provider strategy: <see cref="StrategySplit"/> divides them among the providers,
/// and each provider's share is placed only on its host group's registered hosts (a memberOf constraint added to the
/// request's own, so the request's placement strategy and constraints still apply within the group, and spread and
/// distinctInstance still count the cluster's tasks). A Fargate provider's share goes on the cluster's FARGATE pool when
/// the pool is on (<see cref="FargatePool"/>: FARGATE_SPOT shares it), else anywhere but on pool hosts, as before.
/// </summary>
internal static class StrategyPlacement
{
    /// <summary>
    /// A provider's share: its name, what placement made of it, and how many of its tasks wait in PROVISIONING instead of
    /// failing (no host of the group had room, and the provider's managed scaling is on to make more) and why.
    /// </summary>
    public readonly record struct Share(string Provider, PlacementResult Result, int Waiting = 0, string WaitingReason = "");

    /// <summary>
    /// Places <paramref name="request"/>'s tasks divided by <paramref name="strategy"/> (what each item already runs in
    /// <paramref name="existing"/>, for a service). Each share's placements are adopted into <paramref name="tx"/> before
    /// the next share is placed, so the shares are in order and the last one's snapshot holds them all.
    /// </summary>
    public static List<Share> Place(ClusterTransaction tx, PlacementEngine engine, PlacementRequest request, IReadOnlyList<StrategyItem> strategy, FargatePool pool, IReadOnlyList<int>? existing = null,
        ImmutableArray<SubnetRef> subnets = default)
    {
        var split = StrategySplit.Split(strategy, request.Count, existing);
        var shares = new List<Share>(strategy.Count);
        // ECS's per-cluster quota of waiting tasks, shared by every share of this call.
        var room = Ecs.MaxProvisioningTasks - tx.Cluster.Provisioning.Count;
        for (var i = 0; i < strategy.Count; i++)
        {
            if (split[i] == 0)
            {
                continue;
            }

            var provider = strategy[i].Provider;
            var snapshot = tx.Cluster.Snapshot;
            PlacementResult result;
            if (FargatePool.IsFargate(provider) && !pool.Enabled)
            {
                result = engine.Place(snapshot, FargatePool.OutsidePool(tx.Cluster, request with { Count = split[i] }));
            }
            else if (FargatePool.IsFargate(provider))
            {
                // Made the first time a FARGATE task needs it; its hosts come from managed scaling.
                pool.Ensure(tx);
                result = PlaceOnGroup(tx.Cluster, engine, request with { Count = split[i] }, provider)
                    ?? Unplaceable(snapshot, split[i], provider, tx.Cluster);
            }
            else if (PlaceOnGroup(tx.Cluster, engine, request with { Count = split[i] }, provider) is { } placed)
            {
                result = placed;
            }
            else
            {
                result = Unplaceable(snapshot, split[i], provider, tx.Cluster);
            }

            tx.AdoptPlacement(result.Snapshot);
            var share = Wait(tx.Cluster, engine, provider, request, subnets, result, room);
            room -= share.Waiting;
            shares.Add(share);
        }

        return shares;
    }

    /// <summary>
    /// Places <paramref name="request"/> on the provider's host group's registered hosts only; null when the group has none.
    /// </summary>
    public static PlacementResult? PlaceOnGroup(ClusterState cluster, PlacementEngine engine, PlacementRequest request, string provider)
    {
        if (HostsOf(cluster, provider) is not { Count: > 0 } hosts)
        {
            return null;
        }

        var onGroup = PlacementConstraint.MemberOf($"instanceId in [{string.Join(", ", hosts)}]");
        return engine.Place(cluster.Snapshot, request with { Constraints = [.. request.Constraints, onGroup] });
    }

    /// <summary>
    /// ECS: with managed scaling on, a task that finds no host with room waits in PROVISIONING for the group to grow
    /// instead of failing; so do the tasks of a group that has no host. Without it they fail at once, as they always did.
    /// A constraint no host meets (ATTRIBUTE) fails either way: more hosts of the same kind would not meet it either;
    /// except the subnets' zones, when the group makes hosts in one of them and the task's other constraints are met
    /// there (ECS/Fargate places a task in one of its subnets: the group makes it a host there). Subnets in none of the
    /// group's zones fail at once, saying so (<see cref="WaitingZones.Refusal"/>).
    /// Only <paramref name="room"/> may wait (<see cref="Ecs.MaxProvisioningTasks"/>); the others fail with ECS's words.
    /// </summary>
    private static Share Wait(ClusterState cluster, PlacementEngine engine, string provider, PlacementRequest request, ImmutableArray<SubnetRef> subnets, PlacementResult result, int room)
    {
        if (result.Failures.IsEmpty || RecordOf(cluster, provider) is not { } record || !record.Scaling.Enabled
            || !cluster.HostGroups.TryGetValue(record.HostGroup, out var group))
        {
            return new Share(provider, result);
        }

        if (WaitingZones.Refusal(provider, group, subnets) is { } refusal)
        {
            var refused = new PlacementFailure(null, CapacityFailure, refusal);
            return new Share(provider, result with { Failures = [.. result.Failures.Select(f => IsCapacity(f) || f.Reason == PlacementFailureReasons.Attribute ? refused : f)] });
        }

        var zoneOnly = !subnets.IsDefaultOrEmpty && result.Failures.Any(f => f.Reason == PlacementFailureReasons.Attribute) && OnlyZoneMissing(cluster, engine, provider, request, subnets);
        bool Waits(PlacementFailure f) => IsCapacity(f) || (zoneOnly && f.Reason == PlacementFailureReasons.Attribute);
        var waiting = result.Failures.Where(Waits).ToList();
        if (waiting.Count == 0)
        {
            return new Share(provider, result);
        }

        var reason = WaitingReason(record.Name, record.HostGroup, waiting[0], subnets);
        var admitted = Math.Clamp(room, 0, waiting.Count);
        var overLimit = new PlacementFailure(null, CapacityFailure, Ecs.ProvisioningLimitExceeded);
        return new Share(provider, result with { Failures = [.. result.Failures.Where(f => !Waits(f)), .. Enumerable.Repeat(overLimit, waiting.Count - admitted)] }, admitted, reason);
    }

    /// <summary>
    /// Whether the group's hosts meet every constraint of the request but its subnets' zones: placed again without that
    /// one (a probe, never adopted), a task fits or fails only for want of room.
    /// </summary>
    private static bool OnlyZoneMissing(ClusterState cluster, PlacementEngine engine, string provider, PlacementRequest request, ImmutableArray<SubnetRef> subnets)
    {
        var zones = Networking.Subnets.Implied(subnets).Select(c => c.ToString()).ToHashSet(StringComparer.Ordinal);
        var probe = PlaceOnGroup(cluster, engine, request with { Count = 1, Constraints = [.. request.Constraints.Where(c => !zones.Contains(c.ToString()))] }, provider);
        return probe is not null && (probe.Failures.IsEmpty || IsCapacity(probe.Failures[0]));
    }

    /// <summary>The visible reason of a task waiting for capacity, from why placement could not take it.</summary>
    public static string WaitingReason(string provider, string group, PlacementFailure failure, ImmutableArray<SubnetRef> subnets = default)
    {
        var closest = $"The closest matching (container-instance {failure.InstanceId})";
        var why = failure.Reason switch
        {
            CapacityFailure or PlacementFailureReasons.NoActiveInstances => "No Container Instances were found in your capacity provider.",
            PlacementFailureReasons.Memory => $"{closest} has insufficient memory available.",
            PlacementFailureReasons.Cpu => $"{closest} has insufficient CPU units available.",
            PlacementFailureReasons.Ports => $"{closest} is already using a port required by your task.",
            // Only the zone is missing (Wait): none of the group's hosts is in a zone of the task's subnets yet.
            PlacementFailureReasons.Attribute when !subnets.IsDefaultOrEmpty =>
                $"No Container Instances were found in your capacity provider in the Availability Zones of the task's subnets ({string.Join(", ", subnets.Select(s => s.Zone).Distinct(StringComparer.Ordinal))}).",
            _ => failure.Detail,
        };
        var from = group == FargatePool.Name ? "Berth's FARGATE pool, which makes a host" : $"host group '{group}'";
        return $"Waiting for capacity from capacity provider '{provider}' ({from}): {why}";
    }

    /// <summary>
    /// The record a task's provider name stands for: its own, or for FARGATE_SPOT the FARGATE pool's (null while the
    /// cluster has none, or when the provider was deleted).
    /// </summary>
    public static CapacityProviderRecord? RecordOf(ClusterState cluster, string provider) =>
        cluster.CapacityProviders.GetValueOrDefault(FargatePool.IsFargate(provider) ? FargatePool.Name : provider);

    // NO_ACTIVE_INSTANCES: the group's hosts are all DRAINING (a scale-in under way); new ones are what it needs.
    private static bool IsCapacity(PlacementFailure failure) =>
        failure.Reason is CapacityFailure or PlacementFailureReasons.NoActiveInstances or PlacementFailureReasons.Cpu or PlacementFailureReasons.Memory or PlacementFailureReasons.Ports;

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

    /// <summary>
    /// The container instances the provider's host group has registered (and the cluster still knows), but not those
    /// of hosts chosen for termination: a task placed there would go with the host.
    /// </summary>
    private static List<string> HostsOf(ClusterState cluster, string provider)
    {
        if (RecordOf(cluster, provider) is not { } record || !cluster.HostGroups.TryGetValue(record.HostGroup, out var group))
        {
            return [];
        }

        return [.. group.Hosts
            .Where(h => h.State != GroupHostState.Terminating)
            .Select(h => h.InstanceId)
            .OfType<string>()
            .Where(cluster.Instances.ContainsKey)];
    }

    // A provider without hosts fails its share the way placement fails a task no host can take (one failure per task,
    // naming the provider and its group); with managed scaling on, Wait turns these into PROVISIONING tasks.
    private static PlacementResult Unplaceable(ClusterSnapshot snapshot, int count, string provider, ClusterState cluster)
    {
        var group = RecordOf(cluster, provider)?.HostGroup ?? "";
        var failure = new PlacementFailure(null, CapacityFailure, $"Capacity provider '{provider}' has no registered hosts (host group '{group}').");
        return new PlacementResult(snapshot, snapshot, [], [.. Enumerable.Repeat(failure, count)]);
    }

    /// <summary>The failure reason of a task whose capacity provider has no hosts to place it on.</summary>
    public const string CapacityFailure = "CAPACITY_PROVIDER";
}

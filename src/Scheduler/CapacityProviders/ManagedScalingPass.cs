using Berth.Scheduler.Fargate;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// ECS managed scaling, inside a cluster's transaction: for each provider with managed scaling ENABLED, N is its group's
/// hosts in service past instanceWarmupPeriod, M the hosts needed (those of N running a non-daemon task, or, while its
/// tasks wait in PROVISIONING, those of N whose agents are connected plus the hosts the tasks need within the step
/// sizes), CapacityProviderReservation = M / N
/// (<see cref="Reservation"/>), and target tracking on it sets the group's desired capacity the way an update does: up at
/// once, down only once the metric has stayed below the target for <see cref="CapacityProviderOptions.ScaleInAfter"/>
/// (ECS: 15 minutes; the FARGATE pool's <see cref="FargatePoolOptions.IdleTimeout"/>), and never while a host is still
/// being made or warming up; but a group at its maximum whose waiting tasks' subnets are in other zones than its empty
/// hosts retires those at once (<see cref="WaitingZones"/>).
/// </summary>
internal static class ManagedScalingPass
{
    /// <summary>Sets the groups' sizes; true when one changed (the host group reconciler is then woken).</summary>
    public static bool Run(ClusterTransaction tx, CapacityProviderOptions options, FargatePool pool, ILogger logger)
    {
        _ = logger;
        var cluster = tx.Cluster;
        var changed = false;
        foreach (var provider in cluster.CapacityProviders.Values)
        {
            if (!provider.Scaling.Enabled || !cluster.HostGroups.TryGetValue(provider.HostGroup, out var group) || group.Deleting)
            {
                provider.LastReservation = null;
                SetLowSince(tx, provider, null);
                continue;
            }

            var scaling = provider.Scaling;
            var live = group.Hosts.Where(h => h.State is GroupHostState.Pending or GroupHostState.InService).ToList();
            var warm = live.Where(h => h.State == GroupHostState.InService && h.InstanceId is not null && tx.Now - h.LaunchedAt >= scaling.InstanceWarmup).ToList();
            var warming = live.Count - warm.Count;
            var busy = warm.Count(h => HostGroupPlanner.NonDaemonTasks(cluster, h) > 0);
            var waiting = cluster.Provisioning.Where(t => StrategyPlacement.RecordOf(cluster, t.CapacityProviderName) == provider).ToList();
            // While tasks wait, N leaves out hosts whose agents have not connected: placement cannot use them yet, and one
            // registers (in service) a moment before its session comes up, so the tasks it is about to take still wait.
            // Counted, it made a pool without warm-up ask for a host too many (seen on the lab). Scale-in is not affected.
            var usable = waiting.Count == 0 ? warm.Count : warm.Count(h => cluster.Instances.GetValueOrDefault(h.InstanceId!) is { AgentConnected: true });
            var needed = Reservation.Needed(usable, busy, waiting.Count == 0 ? 0 : HostsFor(cluster, group, waiting), scaling);
            var percent = Reservation.Percent(warm.Count, needed);
            provider.LastReservation = percent;
            var current = group.Size.Desired;
            var desired = Reservation.Desired(needed, scaling, group.Size.Min, group.Size.Max);
            if (desired > current)
            {
                SetLowSince(tx, provider, null);
                Resize(tx, provider, group, desired, percent, waiting.Count, ">");
                changed = true;
            }
            else if (desired < current && warming == 0 && waiting.Count == 0)
            {
                // Scale-in waits for the metric to stay low, as ECS's low alarm does.
                SetLowSince(tx, provider, provider.LowSince ?? tx.Now);
                var after = FargatePool.IsPoolGroup(group) ? pool.Options.IdleTimeout : options.ScaleInAfter;
                if (tx.Now - provider.LowSince >= after)
                {
                    SetLowSince(tx, provider, null);
                    Resize(tx, provider, group, desired, percent, 0, "<");
                    changed = true;
                }
            }
            else if (waiting.Count > 0 && warming == 0 && needed > group.Size.Max && current == group.Size.Max
                && EmptyElsewhere(cluster, group, warm, waiting) is { Count: > 0 } empty)
            {
                // At the maximum, with tasks waiting for zones where the group's empty hosts are not: those hosts are
                // retired now, in this commit with the smaller size (so no pass in between sees them live and grows the group
                // back), and the next pass makes hosts where the tasks can run. Waiting out the idle timeout would leave the
                // tasks waiting for nothing. Hosts with tasks are never among them (managed termination protection).
                SetLowSince(tx, provider, null);
                var cause = $"At {Asg.At(tx.Now)} capacity provider {provider.Name} took {empty.Count} empty hosts out of service: the group is at its maximum size {group.Size.Max} and none of its {waiting.Count} tasks in PROVISIONING can use their zones, changing the desired capacity from {current} to {current - empty.Count}.";
                HostGroupHandler.Resize(tx, group, group.Size with { Desired = Math.Max(group.Size.Min, current - empty.Count) }, cause);
                foreach (var host in empty)
                {
                    HostGroupPlanner.Retire(tx, group, host, $"{cause} At {Asg.At(tx.Now)} host {host.Name} was selected for termination.");
                }

                changed = true;
            }
            else
            {
                SetLowSince(tx, provider, null);
            }
        }

        return changed;
    }

    /// <summary>
    /// The start of the low period is stored with the provider (only when it changes: at most twice per scale-in), so a
    /// scheduler restart does not start ECS's 15 minutes over.
    /// </summary>
    private static void SetLowSince(ClusterTransaction tx, CapacityProviderRecord provider, DateTimeOffset? since)
    {
        if (provider.LowSince != since)
        {
            provider.LowSince = since;
            tx.Save(provider);
        }
    }

    /// <summary>
    /// The hosts the waiting tasks need, zone by zone (<see cref="WaitingZones.HostsFor"/>), measured on one of the group's
    /// hosts (the first that registered); 1 per zone while the group has no host to measure, so the first scale-out is
    /// the minimum step per zone and the next pass measures the hosts it made.
    /// </summary>
    private static int HostsFor(ClusterState cluster, HostGroupRecord group, List<TaskRecord> waiting)
    {
        var sample = group.Hosts
            .Select(h => h.InstanceId is { } id ? cluster.Instances.GetValueOrDefault(id) : null)
            .FirstOrDefault(i => i is { Facts.Cpu: > 0, Facts.Memory: > 0 });
        return WaitingZones.HostsFor(group, waiting, sample);
    }

    /// <summary>The hosts in service with no non-daemon task in a zone that no waiting task can use (their subnets are elsewhere).</summary>
    private static List<GroupHost> EmptyElsewhere(ClusterState cluster, HostGroupRecord group, List<GroupHost> warm, List<TaskRecord> waiting)
    {
        var wanted = waiting.SelectMany(t => WaitingZones.Accepted(group, t.Subnets)).ToHashSet(StringComparer.Ordinal);
        return wanted.Count == 0 ? [] : [.. warm.Where(h => !wanted.Contains(h.Zone) && HostGroupPlanner.NonDaemonTasks(cluster, h) == 0)];
    }

    private static void Resize(ClusterTransaction tx, CapacityProviderRecord provider, HostGroupRecord group, int desired, int percent, int waiting, string comparison)
    {
        var before = group.Size.Desired;
        var alarm = comparison == ">" ? "AlarmHigh" : "AlarmLow";
        var why = $"capacity provider {provider.Name}: CapacityProviderReservation {percent} {comparison} target {provider.Scaling.TargetCapacity}"
            + (waiting > 0 ? $", {waiting} tasks in PROVISIONING" : "");
        var cause = $"At {Asg.At(tx.Now)} a monitor alarm TargetTracking-{provider.Name}-{alarm} in state ALARM triggered policy ECSManagedAutoScalingPolicy-{provider.Name} ({why}) changing the desired capacity from {before} to {desired}.";
        HostGroupHandler.Resize(tx, group, group.Size with { Desired = desired }, cause);
    }
}

using System.Collections.Immutable;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// The zones tasks waiting for a capacity provider can use, as ECS/Fargate places a task in one of its subnets: a task
/// that names subnets can only use a host of their zones (a Berth subnet is a zone, <see cref="Networking.Subnets"/>), so
/// the hosts a group makes for it must be in one of them. The group's zones (<see cref="HostGroupSpec.Zones"/>, the
/// FARGATE pool's <c>FargatePool:Zones</c>) are the zones it can make hosts in; a group without zones makes hosts in no
/// zone, which are in no subnet.
/// </summary>
internal static class WaitingZones
{
    /// <summary>
    /// The zones of <paramref name="group"/> a task with <paramref name="subnets"/> can use, in the group's order: all of
    /// them when it names no subnet (<c>""</c> alone for a group without zones), else those its subnets are in (none: the
    /// group can never make a host for it).
    /// </summary>
    public static IReadOnlyList<string> Accepted(HostGroupRecord group, ImmutableArray<SubnetRef> subnets)
    {
        if (subnets.IsDefaultOrEmpty)
        {
            return group.Spec.Zones.Count == 0 ? [""] : group.Spec.Zones;
        }

        return [.. group.Spec.Zones.Where(z => subnets.Any(s => s.Zone == z))];
    }

    /// <summary>
    /// Why <paramref name="group"/> can never make a host for a task with <paramref name="subnets"/> (null when it can), in
    /// the words of ECS's answer when Fargate has no capacity in a subnet's Availability Zone.
    /// </summary>
    public static string? Refusal(string provider, HostGroupRecord group, ImmutableArray<SubnetRef> subnets)
    {
        if (Accepted(group, subnets).Count > 0)
        {
            return null;
        }

        var given = string.Join(", ", subnets.Select(s => $"{s.Id} ({s.Zone})"));
        var from = FargatePool.IsPoolGroup(group) ? "Berth's FARGATE pool (FargatePool:Zones)" : $"host group '{group.Name}'";
        var makes = group.Spec.Zones.Count == 0
            ? "makes hosts in no Availability Zone, so none is in a subnet"
            : $"makes hosts only in Availability Zones {string.Join(", ", group.Spec.Zones)}";
        return $"Capacity is unavailable in the Availability Zones of the task's subnets [{given}]: capacity provider '{provider}' ({from}) {makes}. Choose subnets in those zones.";
    }

    /// <summary>
    /// ECS's estimate of the hosts the waiting tasks need, per zone: each task counts in one zone it accepts (tasks that
    /// accept fewest zones first; a task joins a zone another task already needs when it can), and each zone needs its
    /// tasks' cpu and memory over what one of the group's hosts registers (<paramref name="sample"/>: a group's hosts are
    /// alike), at least one host. Without a host to measure, one host per zone (the next pass measures the hosts it made).
    /// Tasks the group can never serve count nothing.
    /// </summary>
    public static int HostsFor(HostGroupRecord group, IEnumerable<TaskRecord> waiting, InstanceRecord? sample)
    {
        var byZone = new Dictionary<string, (long Cpu, long Memory)>(StringComparer.Ordinal);
        foreach (var (task, zones) in waiting.Select(t => (t, Accepted(group, t.Subnets))).OrderBy(w => w.Item2.Count))
        {
            if (zones.Count == 0)
            {
                continue;
            }

            var zone = zones.FirstOrDefault(byZone.ContainsKey) ?? zones[0];
            var (cpu, memory) = byZone.GetValueOrDefault(zone);
            byZone[zone] = (cpu + task.Reservation.Cpu, memory + task.Reservation.Memory);
        }

        if (sample is null)
        {
            return byZone.Count;
        }

        return byZone.Values.Sum(d => Math.Max(1, Math.Max(
            (int)Math.Ceiling(d.Cpu / (double)sample.Facts.Cpu),
            (int)Math.Ceiling(d.Memory / (double)sample.Facts.Memory))));
    }

    /// <summary>
    /// The zone for a new host of <paramref name="group"/> while tasks wait for it: among the zones they accept (each task
    /// weighs 1 over the number of zones it accepts), the one with most weight per host already coming there (being made,
    /// or registered but not yet usable), then the one with fewest hosts, then the group's order. Null when no waiting
    /// task accepts a zone of the group (the group then spreads as Auto Scaling does).
    /// </summary>
    public static string? ForLaunch(ClusterState cluster, HostGroupRecord group)
    {
        if (group.Spec.Zones.Count == 0 || cluster.Provisioning.Count == 0
            || cluster.CapacityProviders.Values.FirstOrDefault(p => p.HostGroup == group.Name) is not { } provider)
        {
            return null;
        }

        var want = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var task in cluster.Provisioning)
        {
            if (StrategyPlacement.RecordOf(cluster, task.CapacityProviderName) != provider)
            {
                continue;
            }

            var zones = Accepted(group, task.Subnets);
            foreach (var zone in zones)
            {
                want[zone] = want.GetValueOrDefault(zone) + (1.0 / zones.Count);
            }
        }

        if (want.Count == 0)
        {
            return null;
        }

        return group.Spec.Zones
            .Select((zone, order) => (zone, order))
            .Where(z => want.ContainsKey(z.zone))
            .OrderByDescending(z => want[z.zone] / (1 + group.Hosts.Count(h => h.Zone == z.zone && Coming(cluster, h))))
            .ThenBy(z => group.Hosts.Count(h => h.Zone == z.zone && h.State != GroupHostState.Terminating))
            .ThenBy(z => z.order)
            .First().zone;
    }

    // A host that will take tasks soon: being made, or in service before its agent's session is up.
    private static bool Coming(ClusterState cluster, GroupHost host) => host.State switch
    {
        GroupHostState.Pending => true,
        GroupHostState.InService => host.InstanceId is not { } id || cluster.Instances.GetValueOrDefault(id) is not { AgentConnected: true },
        _ => false,
    };
}

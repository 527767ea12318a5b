using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Provisioning;

namespace Berth.Scheduler.HostGroups;

/// <summary>A provisioner call a pass decided on: launch or terminate one host of a group.</summary>
internal sealed record HostStep(
    bool Launch,
    string Group,
    string GroupId,
    string Host,
    string Zone,
    string ActivityId,
    string InstanceType = "",
    IReadOnlyDictionary<string, string>? Attributes = null);

/// <summary>
/// The decisions of a host group pass, made under the cluster's lock and recorded (hosts named, activities opened)
/// before anything is asked of the provisioner, so a crash in the middle leaves the books saying what was under way.
/// </summary>
internal static class HostGroupPlanner
{
    /// <summary>
    /// For every group of the cluster: hosts lost past the grace period are taken out of service; hosts are launched
    /// (in a zone that the tasks waiting for the group's capacity provider can use, their subnets', when some wait;
    /// else zone with fewest first, AZRebalance-like) or chosen for termination (fewest non-daemon tasks, then the zone with
    /// most, then the oldest) until the group holds its desired capacity; a chosen host with non-daemon tasks drains
    /// first; drained and terminating hosts are handed back to be destroyed.
    /// </summary>
    public static List<HostStep> Plan(ClusterTransaction tx, TimeSpan lostAfter, TimeProvider time)
    {
        var steps = new List<HostStep>();
        foreach (var group in tx.Cluster.HostGroups.Values)
        {
            var launched = new List<GroupHost>();
            var changed = Link(tx.Cluster, group);
            changed |= CheckHealth(tx, group, lostAfter, time);
            changed |= group.Deleting ? TerminateAll(tx, group) : Resize(tx, group, launched);
            changed |= FinishDraining(tx, group);
            foreach (var host in group.Hosts)
            {
                if (host.State == GroupHostState.Terminating)
                {
                    steps.Add(new HostStep(false, group.Name, group.Id, host.Name, host.Zone, host.ActivityId));
                }
                else if (launched.Contains(host))
                {
                    steps.Add(new HostStep(true, group.Name, group.Id, host.Name, host.Zone, host.ActivityId, group.Spec.InstanceType, group.Spec.Attributes));
                }
            }

            if (changed)
            {
                tx.Save(group);
            }
        }

        return steps;
    }

    /// <summary>The container instance (not INACTIVE) a host registered, by the provisioner's <c>berth.host-name</c> attribute.</summary>
    public static InstanceRecord? InstanceOf(ClusterState cluster, string hostName) =>
        cluster.Instances.Values.FirstOrDefault(i => i.Status != InstanceStatus.Inactive && IsHost(i, hostName));

    public static bool IsHost(InstanceRecord instance, string hostName) =>
        instance.CustomAttributes.TryGetValue(HostRequest.HostNameAttribute, out var name) && name == hostName;

    public static HostGroupActivity NewActivity(DateTimeOffset now, string description, string cause) => new()
    {
        Id = Guid.NewGuid().ToString(),
        Description = description,
        Cause = cause,
        StartTime = now,
        Status = ActivityStatus.InProgress,
    };

    // Hosts whose agent registered since the last look get their instance.
    private static bool Link(ClusterState cluster, HostGroupRecord group)
    {
        var changed = false;
        foreach (var host in group.Hosts.Where(h => h.InstanceId is null && h.State != GroupHostState.Pending))
        {
            if (InstanceOf(cluster, host.Name) is { } instance)
            {
                host.InstanceId = instance.Id;
                changed = true;
            }
        }

        return changed;
    }

    // Auto Scaling's health check, with the container instance as the host's health: past the grace period after its
    // launch, a host whose instance is gone, never came, or whose agent has been silent past the lost-host grace period
    // is unhealthy and taken out of service (the launch that follows replaces it).
    private static bool CheckHealth(ClusterTransaction tx, HostGroupRecord group, TimeSpan lostAfter, TimeProvider time)
    {
        var changed = false;
        foreach (var host in group.Hosts.Where(h => h.State == GroupHostState.InService))
        {
            if (tx.Now - host.LaunchedAt <= group.Spec.HealthCheckGracePeriod)
            {
                continue;
            }

            var instance = host.InstanceId is { } id ? tx.Cluster.Instances.GetValueOrDefault(id) : null;
            string? why = instance is null
                ? host.InstanceId is null ? "its agent never registered a container instance" : "its container instance is gone"
                : instance.Status == InstanceStatus.Inactive ? "its container instance was deregistered"
                : !instance.AgentConnected && time.GetElapsedTime(instance.LastHeard) > lostAfter
                    ? $"its container instance was lost (agent silent for {(int)time.GetElapsedTime(instance.LastHeard).TotalSeconds} s)"
                    : null;
            if (why is null)
            {
                continue;
            }

            var live = group.Hosts.Count(h => h.State is GroupHostState.Pending or GroupHostState.InService);
            Terminate(tx, group, host, $"At {Asg.At(tx.Now)} an instance was taken out of service in response to a health check indicating {why}, shrinking the capacity from {live} to {live - 1}.");
            changed = true;
        }

        return changed;
    }

    private static bool TerminateAll(ClusterTransaction tx, HostGroupRecord group)
    {
        var changed = false;
        foreach (var host in group.Hosts.Where(h => h.State != GroupHostState.Terminating).ToList())
        {
            Terminate(tx, group, host, $"{group.DesiredCause} At {Asg.At(tx.Now)} host {host.Name} was selected for termination.");
            changed = true;
        }

        return changed;
    }

    private static bool Resize(ClusterTransaction tx, HostGroupRecord group, List<GroupHost> launched)
    {
        var live = group.Hosts.Where(h => h.State is GroupHostState.Pending or GroupHostState.InService).ToList();
        var desired = group.Size.Desired;
        if (live.Count < desired)
        {
            for (var count = live.Count; count < desired; count++)
            {
                var name = HostName(tx.Cluster, group);
                // While tasks wait for the group's provider, the zone they can use (their subnets'); else the spread.
                var zone = WaitingZones.ForLaunch(tx.Cluster, group) ?? ZoneWithFewest(group);
                var activity = NewActivity(tx.Now, $"Launching a new host: {name}",
                    $"{group.DesiredCause} At {Asg.At(tx.Now)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from {count} to {count + 1}.");
                group.Record(activity);
                var host = new GroupHost { Name = name, Zone = zone, State = GroupHostState.Pending, LaunchedAt = tx.Now, ActivityId = activity.Id };
                group.Hosts.Add(host);
                launched.Add(host);
            }

            return true;
        }

        if (live.Count == desired)
        {
            return false;
        }

        // The capacity provider wrapping the group, if any, says how scale-in treats hosts with tasks: managed termination
        // protection never takes one (ECS's scale-in protection of the instance), managed draining drains it first
        // (ECS's default, and the group's own behaviour without a provider).
        var provider = tx.Cluster.CapacityProviders.Values.FirstOrDefault(p => p.HostGroup == group.Name);
        var protect = provider?.TerminationProtection == true;
        var drain = provider?.Draining ?? true;
        var zoneCounts = live.GroupBy(h => h.Zone).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var chosen = new List<GroupHost>();
        for (var count = live.Count; count > desired; count--)
        {
            // Pending first (nothing runs there yet), then the host with fewest non-daemon tasks (one that runs some is
            // taken only when no other will do), then the zone with most (the zones stay balanced), then the oldest.
            var candidates = live.Except(chosen).Where(h => !protect || h.State == GroupHostState.Pending || NonDaemonTasks(tx.Cluster, h) == 0).ToList();
            if (candidates.Count == 0)
            {
                // Every remaining host is protected: the group stays larger than asked, as Auto Scaling's does when
                // its instances are protected from scale-in.
                group.Size = group.Size with { Desired = Math.Min(count, group.Size.Max) };
                group.DesiredCause += $" At {Asg.At(tx.Now)} the group could not scale to the desired capacity because all remaining instances are protected from scale-in (capacity provider {provider!.Name}: managed termination protection).";
                break;
            }

            var host = candidates
                .OrderBy(h => h.State == GroupHostState.Pending ? 0 : 1)
                .ThenBy(h => NonDaemonTasks(tx.Cluster, h))
                .ThenByDescending(h => zoneCounts[h.Zone])
                .ThenBy(h => h.LaunchedAt)
                .ThenBy(h => h.Name, StringComparer.Ordinal)
                .First();
            chosen.Add(host);
            zoneCounts[host.Zone]--;
            var cause = $"{group.DesiredCause} At {Asg.At(tx.Now)} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from {count} to {count - 1}. At {Asg.At(tx.Now)} host {host.Name} was selected for termination.";
            if (drain && NonDaemonTasks(tx.Cluster, host) > 0)
            {
                Drain(tx, group, host, cause);
            }
            else
            {
                Terminate(tx, group, host, cause);
            }
        }

        return true;
    }

    // A draining host whose non-daemon tasks are gone (replaced elsewhere by the service reconciler) is terminated.
    private static bool FinishDraining(ClusterTransaction tx, HostGroupRecord group)
    {
        var changed = false;
        foreach (var host in group.Hosts.Where(h => h.State == GroupHostState.Draining))
        {
            if (NonDaemonTasks(tx.Cluster, host) == 0)
            {
                host.State = GroupHostState.Terminating;
                changed = true;
            }
        }

        return changed;
    }

    private static void Drain(ClusterTransaction tx, HostGroupRecord group, GroupHost host, string cause)
    {
        var activity = NewActivity(tx.Now, $"Draining and terminating host: {host.Name}", cause);
        group.Record(activity);
        host.ActivityId = activity.Id;
        host.State = GroupHostState.Draining;
        if (host.InstanceId is { } id && tx.Cluster.Instances.TryGetValue(id, out var instance) && instance.Status == InstanceStatus.Active)
        {
            // As UpdateContainerInstancesState does: the agent hears it, the service reconciler moves the tasks away.
            instance.Status = InstanceStatus.Draining;
            instance.DesiredSeq = tx.NextSeq();
            tx.InstanceChanged(instance);
            tx.DesiredChanged(instance);
        }
    }

    /// <summary>Chooses a host for termination outside a pass (managed scaling's zone replacement): the next pass destroys it.</summary>
    public static void Retire(ClusterTransaction tx, HostGroupRecord group, GroupHost host, string cause)
    {
        Terminate(tx, group, host, cause);
        tx.Save(group);
    }

    private static void Terminate(ClusterTransaction tx, HostGroupRecord group, GroupHost host, string cause)
    {
        var launch = group.Activity(host.ActivityId);
        if (host.State == GroupHostState.Pending && launch is { Status: ActivityStatus.InProgress })
        {
            launch.End(tx.Now, ActivityStatus.Cancelled, "The host was terminated before its launch completed.");
        }

        var activity = NewActivity(tx.Now, $"Terminating host: {host.Name}", cause);
        group.Record(activity);
        host.ActivityId = activity.Id;
        host.State = GroupHostState.Terminating;
    }

    /// <summary>The tasks on the host's container instance that are not a DAEMON service's (what termination protection and draining look at).</summary>
    public static int NonDaemonTasks(ClusterState cluster, GroupHost host)
    {
        if (host.InstanceId is not { } id || !cluster.Instances.TryGetValue(id, out var instance))
        {
            return 0;
        }

        return instance.Tasks.Count(t => !t.Group.StartsWith("service:", StringComparison.Ordinal)
            || !cluster.Services.TryGetValue(t.Group["service:".Length..], out var service)
            || !service.IsDaemon);
    }

    // The zone of the group's hosts (any state but terminating) with fewest; ties go to the zone listed first.
    private static string ZoneWithFewest(HostGroupRecord group)
    {
        if (group.Spec.Zones.Count == 0)
        {
            return "";
        }

        return group.Spec.Zones
            .Select((zone, order) => (zone, order, count: group.Hosts.Count(h => h.Zone == zone && h.State != GroupHostState.Terminating)))
            .OrderBy(z => z.count)
            .ThenBy(z => z.order)
            .First().zone;
    }

    // A DNS label: the group's name in lower case (what a label allows, at most 40) and a random suffix.
    private static string HostName(ClusterState cluster, HostGroupRecord group)
    {
        var stem = new string([.. group.Name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        stem = stem.Length == 0 ? "host" : stem[..Math.Min(stem.Length, 40)].TrimEnd('-');
        while (true)
        {
            var name = $"{stem}-{Guid.NewGuid().ToString("N")[..8]}";
            if (!cluster.HostGroups.Values.Any(g => g.Host(name) is not null))
            {
                return name;
            }
        }
    }
}

using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Discovery;

/// <summary>
/// Service discovery, Cloud Map style (issue 17): each cluster is a namespace (its name, lower case) and each ACTIVE
/// service in it a name, <c>&lt;service&gt;.&lt;namespace&gt;</c>. The name answers A records with the addresses of the
/// service's awsvpc tasks, and SRV records (host address and host port) for its bridge- and host-mode tasks; only tasks
/// that run, are wanted running and are not UNHEALTHY are in it. A task asked to stop leaves the answers with the
/// commit that follows the one asking it (<see cref="DiscoveryObserver"/>, one group commit later), and the resolvers
/// that cached it keep it for up to the records' TTL (5 s).
/// </summary>
internal static class DiscoveryRecords
{
    /// <summary>The cluster's namespace: its name in lower case (DNS compares names without case).</summary>
    public static string Namespace(string cluster) => cluster.ToLowerInvariant();

    /// <summary>The cluster's record sets, ordered by name then type, each list ordered (so equal sets compare equal).</summary>
    public static IReadOnlyList<DiscoveryRecordSet> Of(ClusterState cluster)
    {
        var zone = Namespace(cluster.Name);
        var sets = new List<DiscoveryRecordSet>();
        foreach (var service in cluster.Services.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            if (service.Status != Statuses.Active)
            {
                continue;
            }

            var name = $"{service.Name.ToLowerInvariant()}.{zone}";
            var addresses = new List<string>();
            var targets = new List<DiscoverySrvTarget>();
            foreach (var task in service.Tasks)
            {
                if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running || task.HealthStatus == HealthStatus.Unhealthy)
                {
                    continue;
                }

                if (task.Definition.Definition.NetworkMode == "awsvpc")
                {
                    if (task.Attachment is { Released: false } attachment)
                    {
                        addresses.Add(attachment.Ipv4Address);
                    }
                }
                else if (task.Ports.Length > 0
                    && cluster.Instances.TryGetValue(task.InstanceId, out var instance)
                    && instance.HostAddress is { } hostAddress)
                {
                    targets.Add(new DiscoverySrvTarget($"{task.Id}.{name}", hostAddress, task.Ports[0].HostPort));
                }
            }

            if (addresses.Count > 0)
            {
                addresses.Sort(StringComparer.Ordinal);
                sets.Add(new DiscoveryRecordSet(name, DiscoveryRecordType.A, addresses, []));
            }

            if (targets.Count > 0)
            {
                targets.Sort((a, b) => string.CompareOrdinal(a.Target, b.Target));
                sets.Add(new DiscoveryRecordSet(name, DiscoveryRecordType.Srv, [], targets));
            }
        }

        return sets;
    }

    /// <summary>A text form of the sets, equal exactly when the sets are (what the observer compares).</summary>
    public static string Fingerprint(IReadOnlyList<DiscoveryRecordSet> sets) =>
        string.Join('\n', sets.Select(s => $"{s.Name} {s.Type} {string.Join(',', s.Addresses)} {string.Join(',', s.Targets.Select(t => $"{t.Target}@{t.Address}:{t.Port}"))}"));
}

/// <summary>The type of a record set.</summary>
internal enum DiscoveryRecordType
{
    /// <summary>IPv4 addresses of awsvpc tasks.</summary>
    A,

    /// <summary>Host address and port of tasks on their host's network.</summary>
    Srv,
}

/// <summary>One name's answers of one type.</summary>
internal sealed record DiscoveryRecordSet(string Name, DiscoveryRecordType Type, IReadOnlyList<string> Addresses, IReadOnlyList<DiscoverySrvTarget> Targets);

/// <summary>One SRV answer: a task on its host's address and port.</summary>
internal sealed record DiscoverySrvTarget(string Target, string Address, int Port);

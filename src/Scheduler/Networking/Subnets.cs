using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Berth.Core.ClusterQuery;
using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.SecurityGroups;

namespace Berth.Scheduler.Networking;

/// <summary>
/// Berth's subnets (ECS awsvpcConfiguration.subnets): a subnet is a zone of a cluster. Every zone its hosts report
/// (<c>berth.zone</c>) is one subnet whose id is derived from the cluster's ARN and the zone, so it is the same on every
/// scheduler and after every restart, and nothing is stored for it. Its CIDR block is the cluster's task CIDR: each
/// host's task subnet is carved from that CIDR per host (<see cref="HostNetworks"/>), whichever zone the host is in. A
/// task that names subnets is placed only on hosts of their zones, as an ECS task lands only in its subnets' zones.
/// </summary>
internal static class Subnets
{
    /// <summary>ECS: at most 16 subnets per awsvpcConfiguration.</summary>
    public const int MaxPerTask = 16;

    // Ids by cluster and zone, computed once: every awsvpc task records its subnet's id, and tasks of one zone then share
    // one string. Bounded by the zones hosts have reported (validated words), a few per cluster.
    private static readonly ConcurrentDictionary<(string Cluster, string Zone), string> s_ids = new();

    /// <summary>
    /// The subnet id of <paramref name="zone"/> in cluster <paramref name="cluster"/>: <c>subnet-</c> and 17 hex digits, as
    /// EC2 ids look, from SHA-256 of the cluster's ARN and the zone (a cluster of the same name made again gets the same ids).
    /// </summary>
    public static string IdOf(string cluster, string zone) =>
        s_ids.GetOrAdd((cluster, zone), static key =>
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Arns.Cluster(key.Cluster) + "\n" + key.Zone));
            return "subnet-" + Convert.ToHexStringLower(hash)[..17];
        });

    /// <summary>
    /// The cluster's subnets, by zone: one per zone of its instances that are not INACTIVE, with those instances (the
    /// hosts whose task subnets are in it), and one per zone of <paramref name="poolZones"/> (the FARGATE pool's, when it
    /// is on: it makes hosts there when a task waits for one, so the zone is a subnet before any host is in it). Hosts
    /// that report no zone are in no subnet.
    /// </summary>
    public static List<SubnetView> Of(ClusterState cluster, IReadOnlyCollection<string> poolZones)
    {
        var byZone = new SortedDictionary<string, List<InstanceRecord>>(StringComparer.Ordinal);
        foreach (var zone in poolZones)
        {
            byZone.TryAdd(zone, []);
        }

        foreach (var instance in cluster.Instances.Values)
        {
            if (instance.Status != InstanceStatus.Inactive && instance.Facts.Zone.Length > 0)
            {
                if (!byZone.TryGetValue(instance.Facts.Zone, out var hosts))
                {
                    byZone[instance.Facts.Zone] = hosts = [];
                }

                hosts.Add(instance);
            }
        }

        return [.. byZone.Select(z => new SubnetView(IdOf(cluster.Name, z.Key), z.Key, cluster.Record?.TaskCidr ?? "", [.. z.Value.OrderBy(i => i.Id, StringComparer.Ordinal)]))];
    }

    /// <summary>
    /// Checks the subnets a RunTask or service names for a task definition, in ECS's words: none unless it is awsvpc, at
    /// most 16, no id twice, each a subnet of the cluster now (<see cref="Of"/>). Returns them with their zones, in the order given.
    /// </summary>
    public static ImmutableArray<SubnetRef> Validate(ClusterState cluster, IReadOnlyCollection<string> poolZones, TaskDefinitionRecord definition, ImmutableArray<string> ids)
    {
        if (ids.IsDefaultOrEmpty)
        {
            return [];
        }

        RequireAwsvpc(definition);
        if (ids.Length > MaxPerTask)
        {
            throw Ecs.InvalidParameter($"awsvpcConfiguration.subnets: at most {MaxPerTask} subnets can be specified ({ids.Length} given).");
        }

        var duplicate = ids.GroupBy(i => i, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw Ecs.InvalidParameter($"awsvpcConfiguration.subnets: subnet '{Ec2.Printable(duplicate.Key)}' is specified more than once.");
        }

        var known = Of(cluster, poolZones).ToDictionary(s => s.Id, s => s.Zone, StringComparer.Ordinal);
        var unknown = ids.Where(i => !known.ContainsKey(i)).ToList();
        if (unknown.Count > 0)
        {
            var list = string.Join(", ", unknown.Select(Ec2.Printable));
            throw Ecs.InvalidParameter($"Error retrieving subnet information for [{list}]: The subnet ID '{Ec2.Printable(unknown[0])}' does not exist (ErrorCode: InvalidSubnetID.NotFound)");
        }

        return [.. ids.Select(i => new SubnetRef(i, known[i]))];
    }

    /// <summary>Subnets kept from before (a service updated without new ones) must still fit the (new) task definition.</summary>
    public static void CheckKept(TaskDefinitionRecord definition, ImmutableArray<SubnetRef> kept)
    {
        if (!kept.IsDefaultOrEmpty)
        {
            RequireAwsvpc(definition);
        }
    }

    /// <summary>
    /// The placement constraint that keeps a task in its subnets' zones, added where it is placed and never stored or
    /// shown (not counted among the 10, like the awsvpc capability's); none when it names no subnet. Zones are words of
    /// <c>[A-Za-z0-9._:/+@-]</c> (HostFactsValidator), so single quotes hold any of them, and no <c>*</c> can act as a
    /// wildcard.
    /// </summary>
    public static IEnumerable<PlacementConstraint> Implied(ImmutableArray<SubnetRef> subnets) =>
        subnets.IsDefaultOrEmpty
            ? []
            : [PlacementConstraint.MemberOf($"attribute:{AttributeNames.Zone} in [{string.Join(", ", subnets.Select(s => $"'{s.Zone}'").Distinct(StringComparer.Ordinal))}]")];

    /// <summary>The subnet an instance's tasks are in (its zone's); empty for a host that reports no zone.</summary>
    public static string OfInstance(InstanceRecord instance) =>
        instance.Facts.Zone.Length == 0 ? "" : IdOf(instance.Cluster, instance.Facts.Zone);

    private static void RequireAwsvpc(TaskDefinitionRecord definition)
    {
        if (definition.Definition.NetworkMode != "awsvpc")
        {
            throw Ecs.InvalidParameter("Network Configuration is not valid for the given networkMode of this task definition.");
        }
    }
}

/// <summary>One subnet of a cluster: its id, zone, CIDR block (the cluster's task CIDR) and the hosts in it.</summary>
internal sealed record SubnetView(string Id, string Zone, string CidrBlock, ImmutableArray<InstanceRecord> Hosts);

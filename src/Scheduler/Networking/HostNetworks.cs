using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Berth.Core.Networking;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Networking;

/// <summary>
/// awsvpc addressing (issue 17): each cluster has a task CIDR, each of its hosts a task subnet carved from it, and every
/// host routes its peers' subnets through their addresses (host-gateway routing, see docs/agent.md). The CIDR is given at
/// CreateCluster or taken from <see cref="AwsvpcOptions.CidrPool"/>; a host's subnet is chosen when its agent connects
/// and recorded with the instance, so it survives restarts of either side.
/// </summary>
internal sealed partial class HostNetworks(StateKernel kernel, IOptions<AwsvpcOptions> options, ILogger<HostNetworks> logger) : IDisposable
{
    // Choosing a cluster's CIDR compares it with every other cluster's, which live under other locks: one choice at a
    // time, held across the commit, so two clusters can never be given overlapping CIDRs.
    private readonly SemaphoreSlim _cidrChoice = new(1, 1);

    // Clusters whose CIDR had no free subnet for the last host that asked: the warning is written once per cluster, not
    // once per host (a 1,000-host cluster in a /16 of /24s would write 744 of them at every scheduler start), and again
    // after a subnet was handed out.
    private readonly ConcurrentDictionary<string, bool> _exhausted = new(StringComparer.Ordinal);

    private AwsvpcOptions Options => options.Value;

    /// <summary>
    /// Parses a CIDR given to CreateCluster: INVALID_ARGUMENT naming <paramref name="field"/> unless it is an IPv4 CIDR
    /// of /8 up to the host subnet size. Returns it normalised (<c>10.1.2.3/16</c> becomes <c>10.1.0.0/16</c>).
    /// </summary>
    public Ipv4Cidr ParseRequested(string text, string field)
    {
        if (!Ipv4Cidr.TryParse(text, out var cidr))
        {
            throw StateException.Invalid($"{field}: '{Truncate(text)}' is not an IPv4 CIDR (a.b.c.d/n).");
        }

        if (cidr.Value.PrefixLength < 8 || cidr.Value.PrefixLength > Options.HostSubnetPrefixLength)
        {
            throw StateException.Invalid($"{field}: {cidr} must be /8 to /{Options.HostSubnetPrefixLength} (hosts get /{Options.HostSubnetPrefixLength} subnets from it).");
        }

        return cidr.Value;
    }

    /// <summary>
    /// Runs <paramref name="create"/> (a commit that creates or returns the cluster) with the CIDR the cluster is to get:
    /// <paramref name="requested"/> after checking that no other active cluster's CIDR overlaps it, or the first free
    /// block of the pool (null when the pool is exhausted: the cluster then works without awsvpc until one frees up).
    /// </summary>
    public async Task<T> WithClusterCidrAsync<T>(string cluster, Ipv4Cidr? requested, Func<Func<ClusterRecord?, string?>, Task<T>> create)
    {
        await _cidrChoice.WaitAsync();
        try
        {
            var taken = OtherClustersCidrs(cluster);
            return await create(record => Choose(cluster, record, requested, taken));
        }
        finally
        {
            _cidrChoice.Release();
        }
    }

    /// <summary>
    /// Gives a connecting agent's host its task subnet (once) and records the address its session comes from, which
    /// its peers route through. The peers learn of it through <see cref="HostNetworkObserver"/>.
    /// </summary>
    public async Task ConnectHostAsync(string instanceId, IPAddress? sessionAddress)
    {
        if (kernel.ClusterOfInstance(instanceId) is not { } cluster)
        {
            return;
        }

        if (kernel.ReadCluster(cluster, c => c?.Record is { TaskCidr: null }))
        {
            // A cluster made before issue 17's phase 2, or implicitly by a registration: its CIDR is chosen now.
            await WithClusterCidrAsync(cluster, null, choose => kernel.CommitAsync(cluster, tx =>
            {
                if (tx.Cluster.Record is { TaskCidr: null } record && choose(record) is { } cidr)
                {
                    record.TaskCidr = cidr;
                    tx.Save(record);
                }

                return true;
            }));
        }

        var address = Ipv4Of(sessionAddress);
        var prefix = Options.HostSubnetPrefixLength;
        await kernel.CommitInstanceAsync(instanceId, (tx, instance) =>
        {
            if (instance.Status == InstanceStatus.Inactive || !Ipv4Cidr.TryParse(tx.Cluster.Record?.TaskCidr, out var cidr))
            {
                return false;
            }

            var changed = false;
            if (!Ipv4Cidr.TryParse(instance.TaskSubnet, out var subnet) || !cidr.Value.Contains(subnet.Value))
            {
                var used = tx.Cluster.Instances.Values
                    .Where(i => i.Status != InstanceStatus.Inactive && !ReferenceEquals(i, instance))
                    .Select(i => Ipv4Cidr.TryParse(i.TaskSubnet, out var s) ? s : null)
                    .OfType<Ipv4Cidr>()
                    .ToList();
                if (FreeSubnet(cidr.Value, prefix, used) is { } free)
                {
                    instance.TaskSubnet = free.ToString();
                    // Its tasks' entries name the subnet (informative to the agent): encode them again.
                    foreach (var task in instance.Tasks)
                    {
                        task.DesiredEncoding = null;
                    }

                    changed = true;
                    _exhausted.TryRemove(tx.Cluster.Name, out _);
                    Log.SubnetAssigned(logger, instanceId, tx.Cluster.Name, instance.TaskSubnet);
                }
                else if (_exhausted.TryAdd(tx.Cluster.Name, true))
                {
                    Log.NoFreeSubnet(logger, instanceId, tx.Cluster.Name, cidr.Value.ToString(), prefix);
                }
                else
                {
                    Log.NoFreeSubnetAgain(logger, instanceId, tx.Cluster.Name);
                }
            }

            if (address is not null && address != instance.HostAddress)
            {
                instance.HostAddress = address;
                changed = true;
            }

            if (changed)
            {
                tx.InstanceChanged(instance);
                tx.DesiredChanged(instance);
            }

            return changed;
        });
    }

    /// <summary>The first subnet of <paramref name="prefix"/> in <paramref name="cidr"/> that overlaps none of <paramref name="used"/>.</summary>
    /// <remarks>
    /// Each used block marks the candidate indexes it covers, so the cost is one pass over <paramref name="used"/> plus one
    /// over the candidates up to the first free one, not their product: every connecting host of a cluster asks once under
    /// the cluster's lock, and in a cluster with more hosts than subnets (1,000 hosts in a /16 of /24s) every host beyond
    /// the 256th asks again at each reconnect.
    /// </remarks>
    public static Ipv4Cidr? FreeSubnet(Ipv4Cidr cidr, int prefix, IReadOnlyCollection<Ipv4Cidr> used)
    {
        var count = cidr.SubnetCount(prefix);
        var shift = 32 - prefix;
        var taken = new HashSet<long>();
        foreach (var block in used)
        {
            if (!block.Overlaps(cidr))
            {
                continue;
            }

            if (block.Contains(cidr))
            {
                return null;
            }

            // Inside the CIDR: a block no larger than a subnet covers one candidate, a larger one a run of them.
            var first = (long)(block.Network - cidr.Network) >> shift;
            var covered = block.PrefixLength >= prefix ? 1L : 1L << (prefix - block.PrefixLength);
            for (var i = first; i < first + covered; i++)
            {
                taken.Add(i);
            }
        }

        if (taken.Count >= count)
        {
            return null;
        }

        for (long i = 0; i < count; i++)
        {
            if (!taken.Contains(i))
            {
                return cidr.Subnet(prefix, i);
            }
        }

        return null;
    }

    private string? Choose(string cluster, ClusterRecord? record, Ipv4Cidr? requested, List<(string Cluster, Ipv4Cidr Cidr)> taken)
    {
        var current = record is not null && Ipv4Cidr.TryParse(record.TaskCidr, out var c) ? c : null;
        if (record?.Status == Statuses.Active && current is { } existing)
        {
            if (requested is { } asked && asked != existing)
            {
                throw StateException.Invalid($"task_cidr: cluster '{cluster}' exists with task CIDR {existing}; it cannot change.");
            }

            return existing.ToString();
        }

        if (requested is { } wanted)
        {
            foreach (var (other, cidr) in taken)
            {
                if (cidr.Overlaps(wanted))
                {
                    throw StateException.Invalid($"task_cidr: {wanted} overlaps cluster '{other}''s task CIDR {cidr}.");
                }
            }

            return wanted.ToString();
        }

        // A deleted cluster created again keeps its old CIDR when nobody took it meanwhile.
        if (current is { } old && !taken.Any(t => t.Cidr.Overlaps(old)))
        {
            return old.ToString();
        }

        var free = FreeSubnet(Ipv4Cidr.Parse(Options.CidrPool), Options.ClusterPrefixLength, taken.ConvertAll(t => t.Cidr));
        if (free is null)
        {
            Log.PoolExhausted(logger, cluster, Options.CidrPool);
        }

        return free?.ToString();
    }

    private List<(string Cluster, Ipv4Cidr Cidr)> OtherClustersCidrs(string cluster)
    {
        var taken = new List<(string, Ipv4Cidr)>();
        foreach (var name in kernel.ClusterNames)
        {
            if (name != cluster && kernel.ReadCluster(name, c => c is { IsActive: true } ? c.Record!.TaskCidr : null) is { } text
                && Ipv4Cidr.TryParse(text, out var cidr))
            {
                taken.Add((name, cidr.Value));
            }
        }

        return taken;
    }

    /// <summary>The session's remote address as IPv4 text (an IPv4-mapped IPv6 address unwrapped); null for IPv6.</summary>
    private static string? Ipv4Of(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetwork ? address.ToString() : null;
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";

    public void Dispose() => _cidrChoice.Dispose();
}

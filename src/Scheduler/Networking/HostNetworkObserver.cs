using System.Threading.Channels;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Networking;

/// <summary>
/// Keeps every host's routes to its peers current. Each host's desired state carries routes to all other hosts' task
/// subnets, so when one host gets a subnet, moves to another address, or leaves (deregistered), every other host of
/// the cluster needs a new desired state. It follows the change feed: a commit that changed instances wakes it, and it
/// compares the cluster's host addressing (a fingerprint) with what it last published; when they differ it commits a
/// new network generation that gives every host of the cluster a new desired-state version.
/// </summary>
internal sealed partial class HostNetworkObserver(StateKernel kernel, ILogger<HostNetworkObserver> logger) : BackgroundService, IChangeObserver
{
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, string> _published = new(StringComparer.Ordinal);

    public void OnCommitted(CommittedChange change)
    {
        if (change.Cluster is { } cluster && (change.Instances.Count > 0 || change.ScopeChanged))
        {
            _wake.Writer.TryWrite(cluster);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = kernel.Subscribe(this);
        var pending = new HashSet<string>(StringComparer.Ordinal);
        while (await _wake.Reader.WaitToReadAsync(stoppingToken))
        {
            // Coalesce: every cluster woken meanwhile is compared once, however many commits woke it (a thousand agents
            // connecting at once must not make a thousand generations, each a push to every host).
            while (_wake.Reader.TryRead(out var woken))
            {
                pending.Add(woken);
            }

            foreach (var cluster in pending)
            {
                var fingerprint = kernel.ReadCluster(cluster, Fingerprint);
                if (fingerprint is null || (_published.TryGetValue(cluster, out var last) && last == fingerprint))
                {
                    continue;
                }

                try
                {
                    _published[cluster] = await kernel.CommitAsync(cluster, tx =>
                    {
                        // Read again under the lock: what the pushes will carry is what is published.
                        var current = Fingerprint(tx.Cluster) ?? "";
                        tx.Cluster.NetworkGeneration++;
                        foreach (var instance in tx.Cluster.Instances.Values)
                        {
                            if (instance.Status != InstanceStatus.Inactive)
                            {
                                tx.DesiredChanged(instance);
                            }
                        }

                        return current;
                    });
                }
                catch (StateException e)
                {
                    // The cluster went away meanwhile; nothing to route.
                    Log.ClusterGone(logger, cluster, e.Message);
                }
            }

            pending.Clear();
        }
    }

    /// <summary>The cluster's CIDR and each live host's id, subnet and address, in id order; null for an unknown cluster.</summary>
    private static string? Fingerprint(ClusterState? cluster)
    {
        if (cluster?.Record is null)
        {
            return null;
        }

        // Exact rather than a hash: a collision would leave hosts without a route. Instances change rarely (connect,
        // disconnect, deregistration), so building it costs little next to the commit that woke us.
        var hosts = cluster.Instances.Values
            .Where(i => i.Status != InstanceStatus.Inactive && i.TaskSubnet is not null)
            .Select(i => $"{i.Id}={i.TaskSubnet}@{i.HostAddress}")
            .Order(StringComparer.Ordinal);
        return $"{cluster.Record.TaskCidr};{string.Join(';', hosts)}";
    }
}

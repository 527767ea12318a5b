using System.Threading.Channels;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Discovery;

/// <summary>
/// Sends service discovery changes to every resolver of a cluster. Each agent's DNS server answers what its host's
/// desired state carries, and the records of a cluster are the same for all its hosts; so when a commit changes a
/// service's tasks (or a service), this observer compares the cluster's records with what it last published and, when
/// they differ, commits a new discovery generation that gives every host of the cluster a new desired-state version.
/// </summary>
internal sealed partial class DiscoveryObserver(StateKernel kernel, ILogger<DiscoveryObserver> logger) : BackgroundService, IChangeObserver
{
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, string> _published = new(StringComparer.Ordinal);

    public void OnCommitted(CommittedChange change)
    {
        // Only service tasks and services make records (and instances: a bridge task's SRV names its host's address).
        if (change.Cluster is { } cluster
            && (change.Services.Count > 0 || change.Instances.Count > 0 || change.Tasks.Any(t => t.Group.StartsWith("service:", StringComparison.Ordinal))))
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
                var fingerprint = kernel.ReadCluster(cluster, c => c?.Record is null ? null : DiscoveryRecords.Fingerprint(DiscoveryRecords.Of(c)));
                if (fingerprint is null || (_published.TryGetValue(cluster, out var last) && last == fingerprint))
                {
                    continue;
                }

                try
                {
                    _published[cluster] = await kernel.CommitAsync(cluster, tx =>
                    {
                        var current = DiscoveryRecords.Fingerprint(DiscoveryRecords.Of(tx.Cluster));
                        tx.Cluster.DiscoveryGeneration++;
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
                    Log.ClusterGone(logger, cluster, e.Message);
                }
            }

            pending.Clear();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Service discovery records of cluster {Cluster} not published: {Reason}")]
        public static partial void ClusterGone(ILogger logger, string cluster, string reason);
    }
}

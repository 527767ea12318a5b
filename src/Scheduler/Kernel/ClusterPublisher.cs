using System.Threading.Channels;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// Publishes something every host of a cluster carries in its desired state (peer routes, service discovery records):
/// it follows the change feed, and when a commit may have changed it, compares the cluster's fingerprint of it with what
/// it last published; when they differ it commits a new generation that gives every live host of the cluster a new
/// desired-state version. Subclasses say which commits wake it, what the fingerprint is and which generation moves.
/// </summary>
internal abstract class ClusterPublisher(StateKernel kernel) : BackgroundService, IChangeObserver
{
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, string> _published = new(StringComparer.Ordinal);

    public void OnCommitted(CommittedChange change)
    {
        if (change.Cluster is { } cluster && Wakes(change))
        {
            _wake.Writer.TryWrite(cluster);
        }
    }

    /// <summary>Whether <paramref name="change"/> may have changed what is published (called on the commit path: cheap).</summary>
    protected abstract bool Wakes(CommittedChange change);

    /// <summary>What is published for <paramref name="cluster"/>, exactly (a hash collision would leave hosts stale); null for an unknown cluster.</summary>
    protected abstract string? Fingerprint(ClusterState? cluster);

    /// <summary>Moves the cluster's generation of what is published (it is part of every host's desired state), in <paramref name="tx"/>.</summary>
    protected abstract void NextGeneration(ClusterTransaction tx);

    /// <summary>The cluster went away between the wake and the commit.</summary>
    protected abstract void NotPublished(string cluster, string reason);

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
                        NextGeneration(tx);
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
                    NotPublished(cluster, e.Message);
                }
            }

            pending.Clear();
        }
    }
}

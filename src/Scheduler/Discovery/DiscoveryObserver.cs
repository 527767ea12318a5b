using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Discovery;

/// <summary>
/// Sends service discovery changes to every resolver of a cluster. Each agent's DNS server answers what its host's
/// desired state carries, and the records of a cluster are the same for all its hosts; so when a commit changes a
/// service's tasks (or a service), the records are compared with what was last published and, when they differ, a new
/// discovery generation gives every host of the cluster a new desired-state version.
/// </summary>
internal sealed partial class DiscoveryObserver(StateKernel kernel, ILogger<DiscoveryObserver> logger) : ClusterPublisher(kernel)
{
    // Only service tasks and services make records (and instances: a bridge task's SRV names its host's address).
    protected override bool Wakes(CommittedChange change) =>
        change.Services.Count > 0 || change.Instances.Count > 0 || change.Tasks.Any(t => t.Group.StartsWith("service:", StringComparison.Ordinal));

    protected override string? Fingerprint(ClusterState? cluster) =>
        cluster?.Record is null ? null : DiscoveryRecords.Fingerprint(DiscoveryRecords.Of(cluster));

    protected override void NextGeneration(ClusterTransaction tx) => tx.Cluster.DiscoveryGeneration++;

    protected override void NotPublished(string cluster, string reason) => Log.ClusterGone(logger, cluster, reason);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Service discovery records of cluster {Cluster} not published: {Reason}")]
        public static partial void ClusterGone(ILogger logger, string cluster, string reason);
    }
}

using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.SecurityGroups;

/// <summary>
/// Sends security group changes to every host of a cluster: a rule authorized or revoked, a group made or deleted, a
/// member task that got its address or stopped anywhere in the cluster. Each host's desired state carries the groups of
/// its awsvpc tasks with their members' addresses (cluster-wide), so when the cluster's groups differ from what was last
/// published, a new generation gives every host a new desired-state version, as service discovery does.
/// </summary>
internal sealed partial class SecurityGroupObserver(StateKernel kernel, ILogger<SecurityGroupObserver> logger) : ClusterPublisher(kernel)
{
    // Tasks (addresses come and go with their reports), groups, and instances: a host that connects after a restart of
    // the scheduler is what first publishes the groups loaded from the database.
    protected override bool Wakes(CommittedChange change) =>
        change.SecurityGroupsChanged || change.Tasks.Count > 0 || change.Instances.Count > 0;

    // A cluster without groups has nothing to publish (and its hosts no push to get): its first group wakes us.
    protected override string? Fingerprint(ClusterState? cluster) =>
        cluster?.Record is null || cluster.SecurityGroups.Count == 0 ? null : SecurityGroupMembership.Fingerprint(SecurityGroupMembership.Of(cluster));

    protected override void NextGeneration(ClusterTransaction tx)
    {
        tx.Cluster.PublishedSecurityGroups = SecurityGroupMembership.Of(tx.Cluster);
        tx.Cluster.SecurityGroupGeneration++;
    }

    protected override void NotPublished(string cluster, string reason) => Log.ClusterGone(logger, cluster, reason);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Security groups of cluster {Cluster} not published: {Reason}")]
        public static partial void ClusterGone(ILogger logger, string cluster, string reason);
    }
}

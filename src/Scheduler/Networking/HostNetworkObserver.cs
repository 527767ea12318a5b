using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Networking;

/// <summary>
/// Keeps every host's routes to its peers current. Each host's desired state carries routes to all other hosts' task
/// subnets, so when one host gets a subnet, moves to another address, or leaves (deregistered), every other host of
/// the cluster needs a new desired state: a commit that changed instances wakes it, and when the cluster's host addressing
/// differs from what was last published, a new network generation gives every host a new desired-state version.
/// </summary>
internal sealed partial class HostNetworkObserver(StateKernel kernel, ILogger<HostNetworkObserver> logger) : ClusterPublisher(kernel)
{
    protected override bool Wakes(CommittedChange change) => change.Instances.Count > 0 || change.ScopeChanged;

    // The commit says so, for the balancers' watch streams: their task routes follow the same host addressing.
    protected override void NextGeneration(ClusterTransaction tx)
    {
        tx.Cluster.NetworkGeneration++;
        tx.HostNetworkPublished();
    }

    // The cluster went away meanwhile; nothing to route.
    protected override void NotPublished(string cluster, string reason) => Log.ClusterGone(logger, cluster, reason);

    /// <summary>The cluster's CIDR and each live host's id, subnet and address, in id order; null for an unknown cluster.</summary>
    protected override string? Fingerprint(ClusterState? cluster)
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

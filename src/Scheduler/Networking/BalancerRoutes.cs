using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Networking;

/// <summary>A route a balancer needs to one host's task subnet: through that host, as the host's peers route it.</summary>
internal sealed record TaskSubnetRoute(string Subnet, string Via, string InstanceId);

/// <summary>
/// The routes a load balancer outside the cluster needs to reach awsvpc tasks (issue 17): to every live host's task
/// subnet through the host's address — the same <c>peer_routes</c> the agents get (docs/agent.md, "Several segments"),
/// and like them following <see cref="ClusterState.NetworkGeneration"/>: <see cref="HostNetworkObserver"/>'s commit says
/// <see cref="CommittedChange.HostNetworkPublished"/>, which wakes the balancers' watch streams.
/// </summary>
internal static class BalancerRoutes
{
    /// <summary>
    /// The routes for a balancer of <paramref name="cluster"/>, ordered by subnet; empty unless
    /// <paramref name="servesIpTargets"/> (only `ip` target groups route to task addresses; an `instance` group's targets
    /// are host addresses the balancer reaches already). Runs under the cluster's lock.
    /// </summary>
    public static List<TaskSubnetRoute> For(ClusterState cluster, bool servesIpTargets)
    {
        if (!servesIpTargets || cluster.Record?.TaskCidr is null)
        {
            return [];
        }

        var routes = new List<TaskSubnetRoute>();
        foreach (var host in cluster.Instances.Values)
        {
            if (host.Status != InstanceStatus.Inactive && host.TaskSubnet is { } subnet && !string.IsNullOrEmpty(host.HostAddress))
            {
                routes.Add(new TaskSubnetRoute(subnet, host.HostAddress, host.Id));
            }
        }

        routes.Sort((a, b) => string.CompareOrdinal(a.Subnet, b.Subnet));
        return routes;
    }
}

using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// The relay's routing, on the same state and code as YARP's path: the listener's rules, YARP's running cluster of the
/// chosen target group, <see cref="TargetAvailability"/> for which targets may take a request, and the cluster's own
/// YARP load-balancing policy (round robin, random, slow start) for which one does.
/// </summary>
internal sealed class RelayRouter(IProxyStateLookup lookup, TargetAvailability availability, IEnumerable<ILoadBalancingPolicy> policies)
{
    // YARP's policies take the request's HttpContext and none of Berth's read it (round robin, random, slow start); the
    // relay has none to give.
    private static readonly HttpContext s_noContext = new DefaultHttpContext();
    private readonly Dictionary<string, ILoadBalancingPolicy> _policies = policies.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The cluster a request goes to, or false when YARP's path must serve it: the matching rule is not a plain
    /// forward, or its group is not one the relay serves (HTTPS or HTTP/2 targets, stickiness, least outstanding
    /// requests, whose count the relay's requests would not be in).
    /// </summary>
    public bool TryRoute(BalancerModel model, ListenerModel listener, out ClusterState cluster)
    {
        cluster = null!;
        var rule = listener.Rules[0];
        if (!rule.Conditions.IsEmpty || rule.Action is not ForwardAction { TargetGroups.Length: 1, GroupStickiness: null } forward)
        {
            return false;
        }

        var arn = forward.TargetGroups[0].TargetGroupArn;
        return model.TargetGroups.TryGetValue(arn, out var group) && Serves(group) && lookup.TryGetCluster(arn, out cluster!);
    }

    /// <summary>A target for the request, or null when none may take it; <paramref name="failed"/> is left out (a retry).</summary>
    public DestinationState? Pick(ClusterState cluster, DestinationState? failed)
    {
        IReadOnlyList<DestinationState> available = availability.Available(cluster.ClusterId, cluster.DestinationsState.AllDestinations);
        if (failed is not null)
        {
            available = available.Where(d => d != failed).ToArray();
        }

        if (available.Count == 0)
        {
            return null;
        }

        return cluster.Model.Config.LoadBalancingPolicy is { } name && _policies.TryGetValue(name, out var policy)
            ? policy.PickDestination(s_noContext, cluster, available)
            : available[0];
    }

    private static bool Serves(TargetGroupModel group) =>
        group is { Protocol: TargetProtocol.Http, ProtocolVersion: TargetProtocolVersion.Http1, Stickiness: null }
        && group.Algorithm != LoadBalancingAlgorithm.LeastOutstandingRequests;
}

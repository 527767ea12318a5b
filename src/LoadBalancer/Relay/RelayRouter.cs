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
    /// Parses a request head and routes it: the cluster and the first target it goes to, or false when YARP's path
    /// must serve it: a request <see cref="RequestHead.TryParse"/> refuses, the port is no longer a plain HTTP
    /// listener, the matching rule is not a plain forward, its group is not one the relay serves (HTTPS or HTTP/2
    /// targets, stickiness, least outstanding requests, whose count the relay's requests would not be in), or no
    /// target may take it (YARP's path answers that, 503).
    /// </summary>
    public bool TryRoute(BalancerModel? model, int port, ReadOnlySpan<byte> head, out RequestHead request, out ClusterState cluster, out DestinationState first)
    {
        cluster = null!;
        first = null!;
        if (!RequestHead.TryParse(head, out request)
            || model is null
            || !model.ListenersByPort.TryGetValue(port, out var listener)
            || listener.Protocol != ListenerProtocol.Http
            || !TryRoute(model, listener, head, request, out cluster))
        {
            return false;
        }

        first = Pick(cluster, null)!;
        return first is not null;
    }

    // ELB's rule evaluation, as ListenerRuleMatcherPolicy and routing do it on YARP's path: the first rule by priority
    // whose conditions all hold (the same compiled conditions, over the head's bytes), the default rule last.
    private bool TryRoute(BalancerModel model, ListenerModel listener, ReadOnlySpan<byte> head, in RequestHead request, out ClusterState cluster)
    {
        cluster = null!;
        RuleModel? matched = null;
        var view = default(RequestHeadView);
        try
        {
            foreach (var rule in listener.Rules)
            {
                if (!rule.Conditions.IsEmpty)
                {
                    if (view.IsEmpty)
                    {
                        view = new RequestHeadView(head, request);
                    }

                    if (!rule.Matches(ref view))
                    {
                        continue;
                    }
                }

                matched = rule;
                break;
            }
        }
        finally
        {
            view.Dispose();
        }

        // Fixed responses, redirects and target-group stickiness (a cookie to read and set) stay on YARP's path.
        if (matched?.Action is not ForwardAction { GroupStickiness: null } forward || TargetGroupSelection.Draw(forward) is not (>= 0 and var chosen))
        {
            return false;
        }

        var arn = forward.TargetGroups[chosen].TargetGroupArn;
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

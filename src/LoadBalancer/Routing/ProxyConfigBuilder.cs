using System.Globalization;
using System.Net;
using Berth.LoadBalancer.Model;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Turns a <see cref="BalancerModel"/> into YARP routes and clusters: one route per rule of each HTTP(S) listener
/// (a catch-all path, ordered by priority; the conditions are ELB's, evaluated by <see cref="ListenerRuleMatcherPolicy"/>),
/// one cluster per target group whose destinations are all its targets, draining ones included (so that YARP keeps
/// counting their in-flight requests; <see cref="TargetAvailability"/> keeps new requests off them).
/// </summary>
internal static class ProxyConfigBuilder
{
    public const string FingerprintKey = "berth.fingerprint";
    public const string SlowStartPolicy = "BerthSlowStart";

    public static (List<RouteConfig> Routes, List<ClusterConfig> Clusters, Dictionary<string, RuleEndpointMetadata> Rules) Build(BalancerModel model)
    {
        var (routes, rules) = BuildRoutes(model);
        var clusters = new List<ClusterConfig>();
        foreach (var group in model.TargetGroups.Values)
        {
            if (BuildCluster(group, model.IdleTimeout) is { } cluster)
            {
                clusters.Add(cluster);
            }
        }

        return (routes, clusters, rules);
    }

    /// <summary>The routes of the HTTP(S) listeners' rules, and each route's compiled rule by route id.</summary>
    public static (List<RouteConfig> Routes, Dictionary<string, RuleEndpointMetadata> Rules) BuildRoutes(BalancerModel model)
    {
        var routes = new List<RouteConfig>();
        var rules = new Dictionary<string, RuleEndpointMetadata>(StringComparer.Ordinal);
        foreach (var listener in model.Listeners)
        {
            if (listener.Protocol == ListenerProtocol.Tcp)
            {
                continue;
            }

            foreach (var rule in listener.Rules)
            {
                var id = RouteId(listener.Port, rule);
                rules[id] = new RuleEndpointMetadata(listener.Port, rule);
                routes.Add(new RouteConfig
                {
                    RouteId = id,
                    Order = rule.Priority,
                    // The first group of a forward; a weighted choice may reassign the request to another one.
                    ClusterId = rule.Action is ForwardAction forward ? forward.TargetGroups.First(g => g.Weight > 0).TargetGroupArn : null,
                    Match = new RouteMatch { Path = "/{**berth-path}" },
                    Metadata = new Dictionary<string, string> { [FingerprintKey] = rule.Fingerprint },
                });
            }
        }

        return (routes, rules);
    }

    /// <summary>The cluster of an HTTP(S) target group; null for a TCP one (the TCP proxy serves those).</summary>
    public static ClusterConfig? BuildCluster(TargetGroupModel group, TimeSpan idleTimeout)
    {
        if (group.Protocol == TargetProtocol.Tcp)
        {
            return null;
        }

        var scheme = group.Protocol == TargetProtocol.Https ? "https" : "http";
        var http2 = group.ProtocolVersion != TargetProtocolVersion.Http1;
        return new ClusterConfig
        {
            ClusterId = group.Arn,
            LoadBalancingPolicy = group.SlowStart > TimeSpan.Zero ? SlowStartPolicy : group.Algorithm switch
            {
                LoadBalancingAlgorithm.LeastOutstandingRequests => LoadBalancingPolicies.LeastRequests,
                LoadBalancingAlgorithm.WeightedRandom => LoadBalancingPolicies.Random,
                _ => LoadBalancingPolicies.RoundRobin,
            },
            SessionAffinity = group.Stickiness is { } stickiness
                ? new SessionAffinityConfig
                {
                    Enabled = true,
                    Policy = "Cookie",
                    AffinityKeyName = "AWSALB",
                    FailurePolicy = "Redistribute",
                    Cookie = new SessionAffinityCookieConfig { Expiration = stickiness, HttpOnly = true, Path = "/" },
                }
                : null,
            HttpRequest = new ForwarderRequestConfig
            {
                // ELB's idle timeout, applied to the target side as YARP's activity timeout.
                ActivityTimeout = idleTimeout,
                Version = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            },
            HttpClient = new HttpClientConfig
            {
                // ELB does not verify target certificates.
                DangerousAcceptAnyServerCertificate = group.Protocol == TargetProtocol.Https,
                EnableMultipleHttp2Connections = http2,
            },
            Destinations = group.Targets.ToDictionary(
                t => t.Key,
                t => new DestinationConfig { Address = $"{scheme}://{t.Key}" },
                StringComparer.Ordinal),
            Metadata = new Dictionary<string, string> { ["berth.slow-start-seconds"] = group.SlowStart.TotalSeconds.ToString(CultureInfo.InvariantCulture) },
        };
    }

    private static string RouteId(int port, RuleModel rule) => $"{port.ToString(CultureInfo.InvariantCulture)} {rule.Arn}";
}

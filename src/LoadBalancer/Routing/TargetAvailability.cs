using System.Collections.Concurrent;
using Berth.LoadBalancer.Health;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Decides which targets of a group may take a new request: healthy ones (and, without health checks, every
/// registered one), never draining or unregistered ones. When none is healthy, every registered non-draining target
/// takes requests (ELB's fail-open: better a chance than a certain 503). The result is cached per cluster until the
/// destinations or any health state change, so the request path allocates nothing.
/// </summary>
internal sealed class TargetAvailability(TargetHealthTable table)
{
    private readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.Ordinal);

    /// <summary>The targets of <paramref name="cluster"/> that may take a new request.</summary>
    public IReadOnlyList<DestinationState> Available(string cluster, IReadOnlyList<DestinationState> all)
    {
        var version = table.RoutingVersion;
        if (_cache.TryGetValue(cluster, out var cached) && ReferenceEquals(cached.Source, all) && cached.Version == version)
        {
            return cached.Result;
        }

        var result = Compute(cluster, all);
        _cache[cluster] = new Cached(all, version, result);
        return result;
    }

    private DestinationState[] Compute(string cluster, IReadOnlyList<DestinationState> all)
    {
        var routable = new List<DestinationState>(all.Count);
        var fallback = new List<DestinationState>(all.Count);
        foreach (var destination in all)
        {
            // A destination the table does not know yet (a configuration being applied) waits for its first state.
            if (table.Find(cluster, destination.DestinationId)?.Current is not { } health || health.State is TargetState.Draining or TargetState.Unused)
            {
                continue;
            }

            fallback.Add(destination);
            if (health.Routable)
            {
                routable.Add(destination);
            }
        }

        return routable.Count > 0 ? [.. routable] : [.. fallback];
    }

    /// <summary>Sets the proxy feature's available destinations for the request's cluster.</summary>
    public void Apply(HttpContext context)
    {
        var feature = context.GetReverseProxyFeature();
        feature.AvailableDestinations = Available(feature.Cluster.Config.ClusterId, feature.AllDestinations);
    }

    private sealed record Cached(IReadOnlyList<DestinationState> Source, long Version, DestinationState[] Result);
}

using System.Collections.Concurrent;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// What YARP runs: its live <see cref="ClusterState"/>s (told by YARP as it adds and removes clusters) and the
/// configuration it applied last. A change of targets only is written into the running clusters' destinations here,
/// without handing YARP a new configuration: a reload validates and compares every route and cluster, ~30 ms at
/// 1,000 groups against well under one for one cluster's destinations (docs/benchmarks.md, "Load balancer
/// propagation, third round").
/// </summary>
/// <remarks>
/// Listens to YARP rather than asking <c>IProxyStateLookup</c>: that is YARP's configuration manager, which depends on
/// the configuration provider that depends on this.
/// </remarks>
internal sealed class RunningClusters(IClusterDestinationsUpdater updater) : IClusterChangeListener, IConfigChangeListener
{
    private readonly ConcurrentDictionary<string, ClusterState> _clusters = new(StringComparer.Ordinal);
    private volatile IProxyConfig? _applied;

    /// <summary>
    /// The configuration YARP applied last; null before the first and after one it could not apply (YARP's state is then
    /// not what any configuration says, and only a whole reload may fix it).
    /// </summary>
    public IProxyConfig? Applied => _applied;

    /// <summary>YARP's running cluster of that id, if any.</summary>
    public ClusterState? Find(string clusterId) => _clusters.GetValueOrDefault(clusterId);

    /// <summary>
    /// Makes the running cluster's destinations those of <paramref name="cluster"/>, as YARP's own reload would: new ones added, gone ones removed, the others (and their in-flight counters) kept.
    /// False when it cannot (no such running cluster, or a kept destination whose address changed): the caller then
    /// reloads the configuration. Only while YARP is not reloading (the caller checks <see cref="Applied"/>), so that a
    /// reload of an older configuration never undoes it.
    /// </summary>
    public bool TryReplaceDestinations(ClusterConfig cluster)
    {
        if (Find(cluster.ClusterId) is not { } state)
        {
            return false;
        }

        var wanted = cluster.Destinations ?? new Dictionary<string, DestinationConfig>();
        foreach (var (id, config) in wanted)
        {
            if (state.Destinations.TryGetValue(id, out var running) && running.Model.Config != config)
            {
                return false;
            }
        }

        var changed = false;
        foreach (var (id, config) in wanted)
        {
            if (!state.Destinations.ContainsKey(id))
            {
                changed |= state.Destinations.TryAdd(id, new DestinationState(id, new DestinationModel(config)));
            }
        }

        foreach (var id in state.Destinations.Keys)
        {
            if (!wanted.ContainsKey(id))
            {
                changed |= state.Destinations.TryRemove(id, out _);
            }
        }

        // A deregistration (draining) keeps the destination: nothing for YARP to do, routing reads the health table.
        if (changed)
        {
            updater.UpdateAllDestinations(state);
        }

        return true;
    }

    public void OnClusterAdded(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterChanged(ClusterState cluster) => _clusters[cluster.ClusterId] = cluster;

    public void OnClusterRemoved(ClusterState cluster) => _clusters.TryRemove(new KeyValuePair<string, ClusterState>(cluster.ClusterId, cluster));

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception) => _applied = null;

    // One provider (ours), and no destination resolver that would wrap its configuration.
    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs) => _applied = proxyConfigs.Count == 1 ? proxyConfigs[0] : null;

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception) => _applied = null;
}

using System.Collections.Concurrent;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// YARP's configuration, fed by the watch stream through <see cref="ConfigStore"/>: every applied configuration
/// becomes a new <see cref="IProxyConfig"/> and the old one's change token fires. A change of targets only builds the
/// clusters of the groups it touched; every other route and cluster is the previous configuration's own object
/// (YARP compares them with the ones it runs and leaves unchanged clusters and their destinations alone).
/// </summary>
internal sealed class BalancerProxyConfigProvider : IProxyConfigProvider
{
    // Rules by route id and fingerprint, for the endpoint convention. Entries of the previous configuration stay,
    // since YARP may build an endpoint of the old configuration after the new one was published.
    private readonly ConcurrentDictionary<(string RouteId, string Fingerprint), RuleEndpointMetadata> _rules = new();
    private readonly Dictionary<string, ClusterConfig> _clusters = new(StringComparer.Ordinal);
    private volatile Snapshot _current = new([], []);
    private HashSet<(string, string)> _previousKeys = [];

    public BalancerProxyConfigProvider(ConfigStore store)
    {
        store.Changed += Update;
        if (store.Current is { } model)
        {
            Update(ModelChange.Whole(null, model));
        }
    }

    public IProxyConfig GetConfig() => _current;

    /// <summary>The compiled rule behind a route, as built for the configuration that made it.</summary>
    public RuleEndpointMetadata? FindRule(RouteConfig route) =>
        route.Metadata is { } metadata && metadata.TryGetValue(ProxyConfigBuilder.FingerprintKey, out var fingerprint)
            ? _rules.GetValueOrDefault((route.RouteId, fingerprint))
            : null;

    // Called under the store's lock, one change at a time.
    private void Update(ModelChange change)
    {
        var model = change.Current;
        var old = _current;
        if (change.OnlyTargets)
        {
            foreach (var arn in change.TargetsChangedIn!)
            {
                if (ProxyConfigBuilder.BuildCluster(model.TargetGroups[arn], model.IdleTimeout) is { } cluster)
                {
                    _clusters[arn] = cluster;
                }
            }

            _current = new Snapshot(old.Routes, [.. _clusters.Values]);
            old.SignalChange();
            return;
        }

        var (routes, clusters, rules) = ProxyConfigBuilder.Build(model);
        _clusters.Clear();
        foreach (var cluster in clusters)
        {
            _clusters[cluster.ClusterId] = cluster;
        }

        var keys = new HashSet<(string, string)>();
        foreach (var (id, rule) in rules)
        {
            var key = (id, rule.Rule.Fingerprint);
            keys.Add(key);
            _rules[key] = rule;
        }

        foreach (var key in _rules.Keys)
        {
            if (!keys.Contains(key) && !_previousKeys.Contains(key))
            {
                _rules.TryRemove(key, out _);
            }
        }

        _previousKeys = keys;
        _current = new Snapshot(routes, clusters);
        old.SignalChange();
    }

    // The token source is never disposed: a configuration's token must stay readable for as long as YARP holds it.
#pragma warning disable CA1001
    private sealed class Snapshot : IProxyConfig
#pragma warning restore CA1001
    {
        private readonly CancellationTokenSource _changed = new();

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
        {
            Routes = routes;
            Clusters = clusters;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public string RevisionId { get; } = Guid.NewGuid().ToString("N");

        public void SignalChange() => _changed.Cancel();
    }
}

using System.Collections.Concurrent;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// YARP's configuration, fed by the watch stream through <see cref="ConfigStore"/>. A change of targets only (nearly
/// every change under registration churn) goes straight into the touched clusters' running destinations
/// (<see cref="RunningClusters"/>) and YARP reloads nothing; <see cref="GetConfig"/> then answers a configuration with
/// those destinations and the same change token, so that a later reload starts from what runs. Anything else becomes a
/// new <see cref="IProxyConfig"/> and the old one's change token fires: YARP validates and compares every route and
/// cluster (unchanged ones are the previous configuration's own objects, which it leaves alone).
/// </summary>
internal sealed class BalancerProxyConfigProvider : IProxyConfigProvider
{
    // Rules by route id and fingerprint, for the endpoint convention. Entries of the previous configuration stay,
    // since YARP may build an endpoint of the old configuration after the new one was published.
    private readonly ConcurrentDictionary<(string RouteId, string Fingerprint), RuleEndpointMetadata> _rules = new();
    private readonly Dictionary<string, ClusterConfig> _clusters = new(StringComparer.Ordinal);
    private readonly RunningClusters _running;
    private volatile Snapshot _current = new([], [], new CancellationTokenSource());
    private HashSet<(string, string)> _previousKeys = [];

    public BalancerProxyConfigProvider(ConfigStore store, RunningClusters running)
    {
        _running = running;
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
            // In place only while YARP runs the configuration whose token fires next: when it has not applied that one yet
            // (a reload in progress, or one that failed), its reload could overwrite the destinations written here.
            var inPlace = _running.Applied is Snapshot applied && applied.SameGeneration(old);
            foreach (var arn in change.TargetsChangedIn!)
            {
                if (ProxyConfigBuilder.BuildCluster(model.TargetGroups[arn], model.IdleTimeout) is { } cluster)
                {
                    _clusters[arn] = cluster;
                    inPlace = inPlace && _running.TryReplaceDestinations(cluster);
                }
            }

            if (inPlace)
            {
                _current = old.WithClusters([.. _clusters.Values]);
                return;
            }

            _current = new Snapshot(old.Routes, [.. _clusters.Values], new CancellationTokenSource());
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
        _current = new Snapshot(routes, clusters, new CancellationTokenSource());
        old.SignalChange();
    }

    // The token source is never disposed: a configuration's token must stay readable for as long as YARP holds it.
#pragma warning disable CA1001
    private sealed class Snapshot : IProxyConfig
#pragma warning restore CA1001
    {
        // Shared by the snapshots of one generation: those that differ only by destinations YARP got in place.
        private readonly CancellationTokenSource _changed;

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, CancellationTokenSource changed)
        {
            Routes = routes;
            Clusters = clusters;
            _changed = changed;
            ChangeToken = new CancellationChangeToken(changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public string RevisionId { get; } = Guid.NewGuid().ToString("N");

        public void SignalChange() => _changed.Cancel();

        /// <summary>The same routes and change token with other clusters.</summary>
        public Snapshot WithClusters(IReadOnlyList<ClusterConfig> clusters) => new(Routes, clusters, _changed);

        public bool SameGeneration(Snapshot other) => ReferenceEquals(_changed, other._changed);
    }
}

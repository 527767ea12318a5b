using System.Collections.Concurrent;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// YARP's configuration, fed by the watch stream through <see cref="ConfigStore"/>: every applied configuration
/// becomes a new <see cref="IProxyConfig"/> and the old one's change token fires.
/// </summary>
internal sealed class BalancerProxyConfigProvider : IProxyConfigProvider
{
    // Rules by route id and fingerprint, for the endpoint convention. Entries of the previous configuration stay,
    // since YARP may build an endpoint of the old configuration after the new one was published.
    private readonly ConcurrentDictionary<(string RouteId, string Fingerprint), RuleEndpointMetadata> _rules = new();
    private volatile Snapshot _current = new([], []);
    private HashSet<(string, string)> _previousKeys = [];

    public BalancerProxyConfigProvider(ConfigStore store)
    {
        store.Changed += Update;
        if (store.Current is { } model)
        {
            Update(model);
        }
    }

    public IProxyConfig GetConfig() => _current;

    /// <summary>The compiled rule behind a route, as built for the configuration that made it.</summary>
    public RuleEndpointMetadata? FindRule(RouteConfig route) =>
        route.Metadata is { } metadata && metadata.TryGetValue(ProxyConfigBuilder.FingerprintKey, out var fingerprint)
            ? _rules.GetValueOrDefault((route.RouteId, fingerprint))
            : null;

    private void Update(BalancerModel model)
    {
        var (routes, clusters, rules) = ProxyConfigBuilder.Build(model);
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
        var old = _current;
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

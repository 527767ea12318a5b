using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;
using TargetProtocol = Berth.Scheduler.V1.TargetProtocol;
using TargetState = Berth.Scheduler.V1.TargetState;

namespace Berth.LoadBalancer.Tests.State;

/// <summary>
/// A delta of targets is applied group by group (model, health table, YARP clusters); these check it against the
/// whole rebuild as an oracle after every step of random delta sequences, structural deltas mixed in; with a real
/// YARP, target deltas go into its running clusters without a reload.
/// </summary>
public sealed class IncrementalApplyTests(ITestOutputHelper output) : IDisposable
{
    private const int Groups = 12;
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-lb-incremental-").FullName;
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void AnySequenceOfDeltas_ServesWhatAWholeRebuildWould(int seed)
    {
        var random = new Random(seed);
        var (store, health, proxy) = Start();
        // The oracle's health table sees every configuration whole, and the same passive ejections.
        var oracleHealth = new TargetHealthTable(_time);
        oracleHealth.Reconcile(ModelChange.Whole(null, store.Current!));
        var shadow = new Shadow(store.WireCopy()!);
        var incremental = 0;

        for (var version = 2L; version < 400; version++)
        {
            var before = store.Current!;
            var proxyBefore = proxy.GetConfig();
            var statesBefore = health.Entries.ToDictionary(e => (e.TargetGroupArn, e.Target.Key), e => e.Current);
            var (changes, touched) = random.Next(10) == 0 ? shadow.Structural(random) : shadow.Targets(random);

            var (result, reason) = store.ApplyDelta(Delta(version - 1, version, [.. changes]));

            Assert.True(result == DeltaResult.Applied, reason);
            var after = store.Current!;
            var oracle = ModelBuilder.Build(Epoch, version, store.WireCopy()!);
            oracleHealth.Reconcile(ModelChange.Whole(null, oracle));
            AssertSameModel(oracle, after);
            AssertSameProxyConfig(ProxyConfigBuilder.Build(oracle), proxy.GetConfig());
            AssertSameHealth(oracleHealth, health);

            if (touched is not null)
            {
                incremental++;
                // Untouched groups are the previous model's objects, and their clusters and health states are kept.
                var clustersBefore = proxyBefore.Clusters.ToDictionary(c => c.ClusterId);
                var clustersAfter = proxy.GetConfig().Clusters.ToDictionary(c => c.ClusterId);
                Assert.Same(before.Listeners.First().Rules.First(), after.Listeners.First().Rules.First());
                Assert.Same(proxyBefore.Routes, proxy.GetConfig().Routes);
                foreach (var (arn, group) in before.TargetGroups.Where(g => !touched.Contains(g.Key)))
                {
                    Assert.Same(group, after.TargetGroups[arn]);
                    if (clustersBefore.TryGetValue(arn, out var cluster))
                    {
                        Assert.Same(cluster, clustersAfter[arn]);
                    }

                    foreach (var target in group.Targets)
                    {
                        Assert.Same(statesBefore[(arn, target.Key)], health.Find(arn, target.Key)!.Current);
                    }
                }
            }

            // Passive ejections make states the configuration alone would not give; both tables get the same ones. Only
            // in groups with checks on: with checks off an ejection lasts until the target's own group changes, where a
            // whole rebuild resets it (PassiveEjection_WithChecksOff_LastsUntilItsGroupChanges_OrTheReactivationPeriodEnds).
            if (random.Next(3) == 0 && health.Entries.Where(e => after.TargetGroups[e.TargetGroupArn].HealthCheck.Enabled).ToList() is { Count: > 0 } entries)
            {
                var entry = entries[random.Next(entries.Count)];
                health.Eject(entry.TargetGroupArn, entry.Target.Key, "refused");
                oracleHealth.Eject(entry.TargetGroupArn, entry.Target.Key, "refused");
            }
        }

        Assert.InRange(incremental, 300, 400);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AnySequenceOfDeltas_LeavesYarpRunningWhatAWholeRebuildWould(int seed)
    {
        var random = new Random(seed);
        await using var lab = await Lab.StartAsync(output, InitialSnapshot(TestPorts.Next(), TestPorts.Next()));
        var store = lab.Balancer.Store;
        var running = lab.Balancer.Services.GetRequiredService<RunningClusters>();
        var lookup = lab.Balancer.Services.GetRequiredService<IProxyStateLookup>();
        var shadow = new Shadow(store.WireCopy()!);
        var inPlace = 0;

        for (var version = 2L; version < 150; version++)
        {
            var applied = running.Applied;
            Assert.NotNull(applied);
            var (changes, touched) = random.Next(10) == 0 ? shadow.Structural(random) : shadow.Targets(random);

            // As the watch client applies what the scheduler sends.
            var (result, reason) = store.ApplyDelta(Delta(version - 1, version, [.. changes]));

            Assert.True(result == DeltaResult.Applied, reason);
            if (touched is not null)
            {
                inPlace++;
                Assert.Same(applied, running.Applied);
                Assert.False(applied.ChangeToken.HasChanged);
            }
            else
            {
                await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!ReferenceEquals(applied, running.Applied)), TimeSpan.FromSeconds(60), "YARP to apply the new configuration");
            }

            var (_, expected, _) = ProxyConfigBuilder.Build(ModelBuilder.Build(Epoch, version, store.WireCopy()!));
            var clusters = lookup.GetClusters().ToDictionary(c => c.ClusterId, StringComparer.Ordinal);
            Assert.Equal(expected.Select(c => c.ClusterId).Order(StringComparer.Ordinal), clusters.Keys.Order(StringComparer.Ordinal));
            foreach (var cluster in expected)
            {
                var destinations = clusters[cluster.ClusterId].DestinationsState.AllDestinations;
                Assert.Equal(
                    cluster.Destinations!.Select(d => (d.Key, d.Value.Address)).Order(),
                    destinations.Select(d => (d.DestinationId, d.Model.Config.Address)).Order());
                Assert.Equal(destinations.Count, clusters[cluster.ClusterId].Destinations.Count);
            }
        }

        Assert.InRange(inPlace, 110, 148);
    }

    [Fact]
    public void TargetDelta_WhileYarpRunsAnOlderConfiguration_ReloadsIt()
    {
        // No YARP here: the provider never heard that a configuration was applied, so it cannot write in place.
        var (store, _, proxy) = Start();
        var before = proxy.GetConfig();

        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(1, 2, Register("g1", 9001))).Result);

        Assert.True(before.ChangeToken.HasChanged);
        Assert.False(proxy.GetConfig().ChangeToken.HasChanged);
        Assert.Contains("127.0.0.1:9001", proxy.GetConfig().Clusters.Single(c => c.ClusterId == GroupArn("g1")).Destinations!.Keys);
    }

    [Fact]
    public void TargetDelta_WhileYarpRunsTheCurrentConfiguration_WritesTheDestinationsInPlace()
    {
        var (store, _, proxy, running) = StartWithRunning();
        var config = proxy.GetConfig();
        // What YARP does on a load: its running clusters, then "applied".
        var states = config.Clusters.ToDictionary(c => c.ClusterId, c => RunningState(c));
        foreach (var state in states.Values)
        {
            running.OnClusterAdded(state);
        }

        running.ConfigurationApplied([config]);

        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(1, 2, Register("g1", 9001), Deregistered("g1", 8011), Drain("g2", 8020))).Result);

        Assert.False(config.ChangeToken.HasChanged);
        Assert.Equal(["127.0.0.1:8010", "127.0.0.1:9001"], states[GroupArn("g1")].DestinationsState.AllDestinations.Select(d => d.DestinationId).Order(StringComparer.Ordinal));
        Assert.Equal(["127.0.0.1:8020", "127.0.0.1:8021"], states[GroupArn("g2")].DestinationsState.AllDestinations.Select(d => d.DestinationId).Order(StringComparer.Ordinal));
        Assert.Contains("127.0.0.1:9001", proxy.GetConfig().Clusters.Single(c => c.ClusterId == GroupArn("g1")).Destinations!.Keys);

        // Once YARP could not apply a configuration, its state is no configuration's: the next change reloads.
        running.ConfigurationApplyingFailed([config], new InvalidOperationException("test"));
        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(2, 3, Register("g1", 9002))).Result);
        Assert.True(config.ChangeToken.HasChanged);
    }

    [Fact]
    public void TargetDelta_BuildsOnlyTheTouchedGroup()
    {
        var (store, _, proxy) = Start();
        var before = store.Current!;
        var clustersBefore = proxy.GetConfig().Clusters.ToDictionary(c => c.ClusterId);

        var (result, _) = store.ApplyDelta(Delta(1, 2, Register("g3", 9001), Drain("g3", 8030)));

        Assert.Equal(DeltaResult.Applied, result);
        var after = store.Current!;
        Assert.NotSame(before.TargetGroups[GroupArn("g3")], after.TargetGroups[GroupArn("g3")]);
        Assert.Contains(after.TargetGroups[GroupArn("g3")].Targets, t => t.Port == 9001);
        Assert.True(after.TargetGroups[GroupArn("g3")].Targets.Single(t => t.Port == 8030).Draining);
        var clustersAfter = proxy.GetConfig().Clusters.ToDictionary(c => c.ClusterId);
        Assert.Contains("127.0.0.1:9001", clustersAfter[GroupArn("g3")].Destinations!.Keys);
        Assert.Equal(clustersBefore.Count, clustersAfter.Count);
        Assert.Equal(clustersBefore.Count - 1, clustersBefore.Count(c => ReferenceEquals(c.Value, clustersAfter[c.Key])));
    }

    [Fact]
    public void TargetDelta_ThatDoesNotValidate_IsRefusedAndTheLastGoodStays()
    {
        var (store, health, _) = Start();
        var before = store.Current!;
        var bad = new ConfigChange
        {
            TargetUpserted = new TargetChange { TargetGroupArn = GroupArn("g1"), Target = new TargetState { Target = new TargetDescription { Id = "bad host", Port = 1 }, Registration = TargetRegistration.Registered } },
        };

        var (result, reason) = store.ApplyDelta(Delta(1, 2, Register("g1", 9100), bad));

        Assert.Equal(DeltaResult.Refused, result);
        Assert.Contains("target_groups[1].targets[", reason, StringComparison.Ordinal);
        Assert.Same(before, store.Current);
        Assert.Null(health.Find(GroupArn("g1"), "127.0.0.1:9100"));
        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(1, 2, Register("g1", 9100))).Result);
    }

    [Fact]
    public void PassiveEjection_WithChecksOff_LastsUntilItsGroupChanges_OrTheReactivationPeriodEnds()
    {
        var (store, health, _) = Start();
        Assert.True(health.Eject(GroupArn("g1"), "127.0.0.1:8010", "refused"));

        // Churn in another group leaves the ejected target out (a whole rebuild per delta used to bring it back).
        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(1, 2, Register("g2", 9200))).Result);
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unhealthy, health.Find(GroupArn("g1"), "127.0.0.1:8010")!.Current.State);

        // A change of its own group's targets sets every target of it from the configuration again.
        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(2, 3, Register("g1", 9201))).Result);
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unavailable, health.Find(GroupArn("g1"), "127.0.0.1:8010")!.Current.State);

        // With no change at all, no probe can bring it back: time does, after the reactivation period and not before.
        Assert.True(health.Eject(GroupArn("g1"), "127.0.0.1:8011", "refused"));
        _time.Advance(TargetHealthTable.PassiveReactivation - TimeSpan.FromSeconds(1));
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unhealthy, health.Find(GroupArn("g1"), "127.0.0.1:8011")!.Current.State);
        _time.Advance(TimeSpan.FromSeconds(1));
        var back = health.Find(GroupArn("g1"), "127.0.0.1:8011")!.Current;
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unavailable, back.State);
        Assert.True(back.Routable);

        // An ejection the configuration already ended is not ended twice: a newer ejection keeps its own full period.
        Assert.True(health.Eject(GroupArn("g1"), "127.0.0.1:8011", "refused"));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(DeltaResult.Applied, store.ApplyDelta(Delta(3, 4, Register("g1", 9202))).Result);
        Assert.True(health.Eject(GroupArn("g1"), "127.0.0.1:8011", "refused"));
        _time.Advance(TargetHealthTable.PassiveReactivation - TimeSpan.FromSeconds(10));
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unhealthy, health.Find(GroupArn("g1"), "127.0.0.1:8011")!.Current.State);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unavailable, health.Find(GroupArn("g1"), "127.0.0.1:8011")!.Current.State);
    }

    [Fact]
    public void PassiveEjection_WithChecksOn_IsEndedByProbesOnly()
    {
        var (_, health, _) = Start();
        Assert.True(health.Eject(GroupArn("g0"), "127.0.0.1:8000", "refused"));
        _time.Advance(TargetHealthTable.PassiveReactivation * 2);
        Assert.Equal(Berth.LoadBalancer.Health.TargetState.Unhealthy, health.Find(GroupArn("g0"), "127.0.0.1:8000")!.Current.State);
    }

    private (ConfigStore Store, TargetHealthTable Health, BalancerProxyConfigProvider Proxy) Start()
    {
        var (store, health, proxy, _) = StartWithRunning();
        return (store, health, proxy);
    }

    private (ConfigStore Store, TargetHealthTable Health, BalancerProxyConfigProvider Proxy, RunningClusters Running) StartWithRunning()
    {
        var data = new DataDirectory(Options.Create(new BalancerOptions { DataDirectory = _dir }));
        var cache = new ConfigCacheWriter(data, _time, NullLogger<ConfigCacheWriter>.Instance);
        var health = new TargetHealthTable(_time);
        var store = new ConfigStore(cache, health, NullLogger<ConfigStore>.Instance);
        var running = new RunningClusters(new AllDestinationsUpdater());
        var proxy = new BalancerProxyConfigProvider(store, running);
        Assert.Null(store.ApplySnapshot(InitialSnapshot(80, 9000)));
        return (store, health, proxy, running);
    }

    private static ConfigSnapshot InitialSnapshot(int httpPort, int tcpPort)
    {
        var groups = Enumerable.Range(0, Groups).Select(i => Group($"g{i}", [8000 + (10 * i), 8001 + (10 * i)],
            health: i % 3 == 0 ? new HealthCheck { Enabled = true, Path = "/health" } : null)).ToList();
        groups.Add(Group("tcp", [7000], protocol: TargetProtocol.Tcp));
        var rules = Enumerable.Range(1, Groups - 1).Select(i => Rule(httpPort, i, Forward(($"g{i}", 1), ($"g{(i + 1) % Groups}", 2)), Path($"/{i}/*"))).ToList();
        return Snapshot(1, [Http(httpPort, Forward("g0")), Tcp(tcpPort, "tcp")], groups, rules);
    }

    /// <summary>A running cluster as YARP's configuration manager makes one.</summary>
    private static ClusterState RunningState(ClusterConfig config)
    {
        var state = new ClusterState(config.ClusterId, new ClusterModel(config, new HttpMessageInvoker(new SocketsHttpHandler())));
        foreach (var (id, destination) in config.Destinations!)
        {
            state.Destinations[id] = new DestinationState(id, new DestinationModel(destination));
        }

        state.DestinationsState = new ClusterDestinationsState([.. state.Destinations.Values], [.. state.Destinations.Values]);
        return state;
    }

    /// <summary>YARP's updater without health policies: every destination is available.</summary>
    private sealed class AllDestinationsUpdater : IClusterDestinationsUpdater
    {
        public void UpdateAllDestinations(ClusterState cluster) =>
            cluster.DestinationsState = new ClusterDestinationsState([.. cluster.Destinations.Values], [.. cluster.Destinations.Values]);

        public void UpdateAvailableDestinations(ClusterState cluster) => UpdateAllDestinations(cluster);
    }

    private static void AssertSameModel(BalancerModel expected, BalancerModel actual)
    {
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.IdleTimeout, actual.IdleTimeout);
        Assert.Equal(
            expected.Listeners.Select(l => (l.Arn, l.Port, l.Protocol, string.Join(",", l.Rules.Select(r => r.Arn + r.Fingerprint)))),
            actual.Listeners.Select(l => (l.Arn, l.Port, l.Protocol, string.Join(",", l.Rules.Select(r => r.Arn + r.Fingerprint)))));
        Assert.Equal(expected.TargetGroups.Keys.Order(StringComparer.Ordinal), actual.TargetGroups.Keys.Order(StringComparer.Ordinal));
        foreach (var (arn, group) in expected.TargetGroups)
        {
            var other = actual.TargetGroups[arn];
            // Records compare ImmutableArray by reference: the settings without the targets, then the targets in order.
            Assert.Equal(group with { Targets = [] }, other with { Targets = [] });
            Assert.Equal(group.Targets.AsEnumerable(), other.Targets.AsEnumerable());
        }
    }

    private static void AssertSameProxyConfig((List<RouteConfig> Routes, List<ClusterConfig> Clusters, Dictionary<string, RuleEndpointMetadata> Rules) expected, IProxyConfig actual)
    {
        // YARP's config records compare deeply (destinations included).
        Assert.Equal(expected.Routes.OrderBy(r => r.RouteId, StringComparer.Ordinal), actual.Routes.OrderBy(r => r.RouteId, StringComparer.Ordinal));
        Assert.Equal(expected.Clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal), actual.Clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal));
    }

    private static void AssertSameHealth(TargetHealthTable expected, TargetHealthTable actual)
    {
        static Dictionary<(string, string), (TargetModel, Berth.LoadBalancer.Health.TargetState, string)> Of(TargetHealthTable table) =>
            table.Entries.ToDictionary(e => (e.TargetGroupArn, e.Target.Key), e => (e.Target, e.Current.State, e.Current.Reason));

        var want = Of(expected);
        var have = Of(actual);
        Assert.Equal(want.Keys.Order(), have.Keys.Order());
        foreach (var (key, value) in want)
        {
            Assert.Equal(value, have[key]);
        }
    }

    /// <summary>What the scheduler holds, to draw valid changes from.</summary>
    private sealed class Shadow(BalancerConfig config)
    {
        private readonly Dictionary<string, Dictionary<int, bool>> _targets = config.TargetGroups.ToDictionary(
            g => g.TargetGroup.TargetGroupName, g => g.Targets.ToDictionary(t => t.Target.Port, t => t.Registration == TargetRegistration.Draining));
        private readonly Dictionary<string, TargetGroup> _settings = config.TargetGroups.ToDictionary(g => g.TargetGroup.TargetGroupName, g => g.TargetGroup);
        private int _nextPort = 10_000;
        private int _spares;

        /// <summary>1-5 target changes in 1-3 groups, and the groups they touch.</summary>
        public (List<ConfigChange> Changes, HashSet<string>? Touched) Targets(Random random)
        {
            var changes = new List<ConfigChange>();
            var touched = new HashSet<string>(StringComparer.Ordinal);
            var names = _targets.Keys.Order(StringComparer.Ordinal).ToList();
            var groups = Enumerable.Range(0, random.Next(1, 4)).Select(_ => names[random.Next(names.Count)]).ToList();
            for (var i = random.Next(1, 6); i > 0; i--)
            {
                var name = groups[random.Next(groups.Count)];
                var targets = _targets[name];
                var ports = targets.Keys.Order().ToList();
                switch (random.Next(4))
                {
                    case 0 when ports.Count > 0:
                        var drained = ports[random.Next(ports.Count)];
                        targets[drained] = true;
                        changes.Add(Drain(name, drained));
                        break;
                    case 1 when ports.Count > 0:
                        var removed = ports[random.Next(ports.Count)];
                        targets.Remove(removed);
                        changes.Add(Deregistered(name, removed));
                        break;
                    case 2 when ports.Count > 0:
                        // Re-registered (a draining target registered again starts over).
                        var again = ports[random.Next(ports.Count)];
                        targets[again] = false;
                        changes.Add(Register(name, again));
                        break;
                    default:
                        var port = _nextPort++;
                        targets[port] = false;
                        changes.Add(Register(name, port));
                        break;
                }

                touched.Add(GroupArn(name));
            }

            return (changes, touched);
        }

        /// <summary>A change of a group's settings, a new group with targets, or the removal of an unused one.</summary>
        public (List<ConfigChange> Changes, HashSet<string>? Touched) Structural(Random random)
        {
            var spare = _targets.Keys.FirstOrDefault(n => n.StartsWith("spare", StringComparison.Ordinal));
            switch (random.Next(3))
            {
                case 0 when spare is not null:
                    _targets.Remove(spare);
                    _settings.Remove(spare);
                    return ([new ConfigChange { TargetGroupRemoved = GroupArn(spare) }], null);
                case 1:
                    var name = $"spare{_spares++}";
                    var group = Group(name, [_nextPort++], health: random.Next(2) == 0 ? new HealthCheck { Enabled = true, Path = "/health" } : null);
                    var later = _nextPort++;
                    _targets[name] = new Dictionary<int, bool> { [group.Targets[0].Target.Port] = false, [later] = false };
                    _settings[name] = group.TargetGroup;
                    return ([new ConfigChange { TargetGroupUpserted = group }, Register(name, later)], null);
                default:
                    var names = _settings.Keys.Where(n => n != "tcp").Order(StringComparer.Ordinal).ToList();
                    var changed = names[random.Next(names.Count)];
                    var settings = new TargetGroup(_settings[changed]);
                    // Health checks on or off, and the deregistration delay: what health states and clusters follow.
                    settings.HealthCheck = new HealthCheck { Enabled = !settings.HealthCheck.Enabled, Path = "/health" };
                    settings.Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = random.Next(0, 600) };
                    _settings[changed] = settings;
                    return ([new ConfigChange { TargetGroupUpserted = new TargetGroupState { TargetGroup = settings } }], null);
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.State;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// The HTTP/1.1 fast path (<c>Balancer:FastPath</c>): on plain HTTP listeners, whose connections the balancer accepts
/// itself (<see cref="RelayListener"/>), reads each request head and, when it is a request the relay serves exactly as
/// YARP's path would, forwards its bytes to a pooled keep-alive connection of the chosen target and copies the
/// response's bytes back, with no HttpContext, HttpRequestMessage or header strings in between
/// (<see cref="RelayConnection"/>). Anything else is handed, at that request's first byte, to Kestrel and YARP for
/// the rest of the connection (docs/load-balancer.md, "The HTTP/1.1 relay").
/// </summary>
internal sealed partial class Http1Relay : IDisposable
{
    private readonly ConfigStore _store;
    private readonly bool _enabled;
    private readonly ConcurrentDictionary<DestinationState, TargetLink> _targets = new();
    private long _relayed;

    public Http1Relay(
        ConfigStore store,
        RelayRouter router,
        TargetHealthTable table,
        RequestCounts counts,
        HttpDate date,
        IOptions<BalancerOptions> options,
        ILogger<Http1Relay> logger)
    {
        _store = store;
        _enabled = options.Value.FastPath;
        Router = router;
        Table = table;
        Counts = counts;
        Date = date;
        Logger = logger;
        store.Changed += ForgetRemovedTargets;
    }

    public RelayRouter Router { get; }

    public TargetHealthTable Table { get; }

    public RequestCounts Counts { get; }

    public HttpDate Date { get; }

    public ILogger Logger { get; }

    /// <summary>
    /// How long a client connection may wait between requests: Kestrel's keep-alive timeout, as on YARP's path
    /// (<see cref="KestrelSetup"/> passes it on; the relay cannot ask for Kestrel's options, which depend on it).
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = new KestrelServerOptions().Limits.KeepAliveTimeout;

    public ConfigStore Store => _store;

    private Loops.EventLoop[]? _loops;
    private int _nextLoop;

    /// <summary>The event loop for the next relayed connection: one per core, started with the first.</summary>
    public Loops.EventLoop NextLoop()
    {
        var loops = LazyInitializer.EnsureInitialized(ref _loops, () => Enumerable.Range(0, Environment.ProcessorCount).Select(i => new Loops.EventLoop(i, Logger)).ToArray());
        return loops[(int)((uint)Interlocked.Increment(ref _nextLoop) % (uint)loops.Length)];
    }

    /// <summary>Ends the event loops (after Kestrel's listeners, which the host stops first).</summary>
    public void Dispose()
    {
        foreach (var loop in Volatile.Read(ref _loops) ?? [])
        {
            loop.Dispose();
        }
    }

    /// <summary>Whether the relay serves plain HTTP listeners (<c>Balancer:FastPath</c>).</summary>
    public bool Enabled => _enabled;

    /// <summary>The load balancer's idle timeout: how long the relay waits on a target, as YARP's activity timeout.</summary>
    public TimeSpan IdleTimeout => _store.Current?.IdleTimeout ?? TimeSpan.FromSeconds(60);

    /// <summary>Passive health, as <c>Routing/PassiveHealthRetry</c>: the target failed a connection.</summary>
    public void Eject(ClusterState cluster, DestinationState destination, string message)
    {
        if (Table.Eject(cluster.ClusterId, destination.DestinationId, $"Connection to the target failed: {message}"))
        {
            LogEjected(Logger, destination.DestinationId, cluster.ClusterId, message);
        }
    }

    /// <summary>Requests the relay took (not handed to YARP's path) since the start: for tests and diagnostics.</summary>
    public long Relayed => Volatile.Read(ref _relayed);

    /// <summary>Counts a request the relay took, for its target group's <see cref="RequestCounts"/> too.</summary>
    public void Count(string targetGroupArn)
    {
        Interlocked.Increment(ref _relayed);
        Counts.Count(targetGroupArn);
    }

    /// <summary>Requests the relay has in flight to a target (draining reports add them to YARP's).</summary>
    public int InFlight(DestinationState destination) => _targets.TryGetValue(destination, out var link) ? Volatile.Read(ref link.InFlight) : 0;

    /// <summary>The relay's state for a target: its idle connections and the requests in flight to it.</summary>
    public TargetLink Link(ClusterState cluster, DestinationState destination) =>
        _targets.TryGetValue(destination, out var link) ? link : _targets.GetOrAdd(destination, static (d, c) => new TargetLink(c.ClusterId, d), cluster);

    // A target that left its group (or a group that went) takes its idle connections with it.
    private void ForgetRemovedTargets(ModelChange change)
    {
        foreach (var (destination, link) in _targets)
        {
            if (change.OnlyTargets && change.TargetsChangedIn?.Contains(link.Group) != true)
            {
                continue;
            }

            if (!change.Current.TargetGroups.TryGetValue(link.Group, out var group) || !group.Targets.Any(t => t.Key == destination.DestinationId))
            {
                _targets.TryRemove(destination, out _);
                link.Close();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target} of {TargetGroup} refused or dropped a connection ({Failure}): out of rotation until health checks pass")]
    private static partial void LogEjected(ILogger logger, string target, string targetGroup, string failure);

    /// <summary>What the relay keeps per target.</summary>
    internal sealed class TargetLink(string group, DestinationState destination)
    {
        public int InFlight;

        public string Group { get; } = group;

        private readonly UpstreamPool[] _pools = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => PoolOf(new Uri(destination.Model.Config.Address))).ToArray();

        /// <summary>The idle connections of the current loop.</summary>
        public UpstreamPool Pool => _pools[Loops.EventLoop.Current?.Index ?? 0];

        public void Close()
        {
            foreach (var pool in _pools)
            {
                pool.Close();
            }
        }

        private static UpstreamPool PoolOf(Uri address)
        {
            var host = address.Host.Trim('[', ']');
            EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, address.Port) : new DnsEndPoint(host, address.Port);
            return new UpstreamPool(endPoint);
        }
    }
}

using System.Net;
using Berth.Core.Networking;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.TaskRoutes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Tests.TaskRoutes;

/// <summary>
/// The balancer's routes to task subnets against a routing table in memory: what it adds, what it leaves to others, what
/// it skips and says why, and that it removes only what it added itself, across a restart too.
/// </summary>
public sealed class TaskRouteTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-lb-routes-").FullName;
    private readonly KernelRouteTable _kernel = new();
    private readonly CollectingLogger _log = new();

    public TaskRouteTableTests()
    {
        _kernel.Connected.Add((Ipv4Cidr.Parse("10.231.5.0/24"), "lab0"));
        _kernel.Local.Add(IPAddress.Parse("10.231.5.254"));
        // The agent of a cluster member in this namespace routes one peer itself; the kernel routes its own bridge.
        _kernel.Routes.Add(new("10.240.9.0/24", "10.231.5.9", "lab0", "201"));
        _kernel.Routes.Add(new("10.240.0.0/24", null, "berth0", "kernel"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private TaskRouteTable Table() => new(_kernel, new DataDirectory(Options.Create(new BalancerOptions { DataDirectory = _dir })), _log);

    private static GatewayRoute Route(string subnet, string via) => new(Ipv4Cidr.Parse(subnet), IPAddress.Parse(via), "i-" + via);

    private string[] Ours() => [.. _kernel.OfProtocol("202").Select(r => $"{r.Destination} via {r.Gateway}").Order()];

    [Fact]
    public async Task Sync_AddsWhatItMay_SkipsWithAReason_AndRemovesOnlyWhatItAdded()
    {
        var table = Table();
        await table.SyncAsync(
        [
            Route("10.240.1.0/24", "10.231.5.1"),
            Route("10.240.2.0/24", "10.231.5.2"),
            Route("10.240.3.0/24", "172.31.0.7"),   // another segment: the kernel would need a router
            Route("10.240.9.0/24", "10.231.5.9"),   // the agent here routes it already
            Route("10.240.0.0/24", "10.231.5.254"), // this machine's own subnet and address
            Route("10.240.4.0/24", "10.231.5.254"), // through this machine itself
        ], CancellationToken.None);

        Assert.Equal(["10.240.1.0/24 via 10.231.5.1", "10.240.2.0/24 via 10.231.5.2"], Ours());
        Assert.Contains(_kernel.Routes, r => r is { Destination: "10.240.9.0/24", Protocol: "201" });
        Assert.Contains(_log.Lines, l => l.StartsWith("Route to task subnet 10.240.3.0/24 via 172.31.0.7 (i-172.31.0.7) skipped: 172.31.0.7 is not on a directly connected network (the kernel reaches it through 192.0.2.1); multi-segment installations need", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith("Route to task subnet 10.240.9.0/24 via 10.231.5.9 (i-10.231.5.9) skipped: the subnet is already routed (via 10.231.5.9, protocol 201)", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith("Route to task subnet 10.240.0.0/24 via 10.231.5.254 (i-10.231.5.254) skipped: the subnet is already routed (on berth0, protocol kernel)", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith("Route to task subnet 10.240.4.0/24 via 10.231.5.254 (i-10.231.5.254) skipped: 10.231.5.254 is this machine's own address", StringComparison.Ordinal));
        Assert.Equal(["10.240.1.0/24 10.231.5.1", "10.240.2.0/24 10.231.5.2"], File.ReadAllLines(Path.Combine(_dir, "task-routes")));

        // Unchanged: nothing is written, and a skip is not logged again.
        var lines = _log.Lines.Count;
        var commands = _kernel.CommandLines.Count;
        await table.SyncAsync(
        [
            Route("10.240.1.0/24", "10.231.5.1"),
            Route("10.240.2.0/24", "10.231.5.2"),
            Route("10.240.3.0/24", "172.31.0.7"),
        ], CancellationToken.None);
        Assert.Equal(lines, _log.Lines.Count);
        Assert.DoesNotContain(_kernel.CommandLines.Skip(commands), c => c.StartsWith("ip route", StringComparison.Ordinal));

        // Another balancer's route of the same protocol, which this one never added, is not this one's to remove.
        _kernel.Routes.Add(new("10.250.0.0/24", "10.231.5.7", "lab0", "202"));

        // A host moves (a new via) and one leaves.
        await table.SyncAsync([Route("10.240.1.0/24", "10.231.5.11")], CancellationToken.None);

        Assert.Equal(["10.240.1.0/24 via 10.231.5.11", "10.250.0.0/24 via 10.231.5.7"], Ours());
        Assert.Contains("ip route del 10.240.2.0/24 proto 202", _kernel.CommandLines);
        Assert.Contains("Route to task subnet 10.240.2.0/24 removed (no longer wanted: its host left the cluster, or no ip target group is served)", _log.Lines);
        Assert.Equal(["10.240.1.0/24 10.231.5.11"], File.ReadAllLines(Path.Combine(_dir, "task-routes")));
    }

    [Fact]
    public async Task ARestartedBalancer_RemovesTheRoutesItAddedBefore_AndLeavesOnesSomebodyReplaced()
    {
        await Table().SyncAsync([Route("10.240.1.0/24", "10.231.5.1"), Route("10.240.2.0/24", "10.231.5.2")], CancellationToken.None);
        // An agent started here takes 10.240.2.0/24 over (`ip route replace` with its own protocol).
        _kernel.Routes.RemoveAll(r => r.Destination == "10.240.2.0/24");
        _kernel.Routes.Add(new("10.240.2.0/24", "10.231.5.2", "lab0", "201"));

        var restarted = Table();
        Assert.Equal(2, restarted.Added.Count);
        await restarted.SyncAsync([], CancellationToken.None);

        Assert.Empty(Ours());
        Assert.Contains(_kernel.Routes, r => r is { Destination: "10.240.2.0/24", Protocol: "201" });
        Assert.DoesNotContain("ip route del 10.240.2.0/24 proto 202", _kernel.CommandLines);
        Assert.Empty(restarted.Added);
        Assert.Empty(File.ReadAllText(Path.Combine(_dir, "task-routes")));
    }

    [Fact]
    public async Task NothingWantedAndNothingAdded_RunsNoTool()
    {
        await Table().SyncAsync([], CancellationToken.None);

        Assert.Empty(_kernel.CommandLines);
    }

    private sealed class CollectingLogger : ILogger<TaskRouteTable>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}

using System.Net;
using Berth.Core.Networking;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.TaskRoutes;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.TaskRoutes;

/// <summary>
/// <c>Balancer:TaskRoutes</c> end to end from the watch stream's messages to the routing table: the routes of a snapshot are
/// added, a delta's removal removes one; without the capability (auto) or switched off, no tool runs at all.
/// </summary>
public sealed class TaskRouteProgrammerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-lb-programmer-").FullName;
    private readonly KernelRouteTable _kernel = new();
    private readonly FakeTimeProvider _time = new();

    public TaskRouteProgrammerTests() => _kernel.Connected.Add((Ipv4Cidr.Parse("10.231.5.0/24"), "lab0"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (ConfigStore Store, TaskRouteProgrammer Programmer) Start(TaskRouteMode mode, bool capability)
    {
        var options = Options.Create(new BalancerOptions { DataDirectory = _dir, TaskRoutes = mode });
        var data = new DataDirectory(options);
        var store = new ConfigStore(new ConfigCacheWriter(data, _time, NullLogger<ConfigCacheWriter>.Instance), new TargetHealthTable(_time), NullLogger<ConfigStore>.Instance);
        var table = new TaskRouteTable(_kernel, data, NullLogger<TaskRouteTable>.Instance);
        return (store, new TaskRouteProgrammer(store, table, new NetAdminCapability(capability), options, _time, NullLogger<TaskRouteProgrammer>.Instance));
    }

    private static ConfigSnapshot WithRoutes()
    {
        var snapshot = Snapshot(1, [Http(80, Forward("a"))], [Group("a", [8000])]);
        snapshot.Config.TaskRoutes.Add(new TaskRoute { Subnet = "10.240.1.0/24", Via = "10.231.5.1", ContainerInstanceId = "i-1" });
        snapshot.Config.TaskRoutes.Add(new TaskRoute { Subnet = "10.240.2.0/24", Via = "10.231.5.2", ContainerInstanceId = "i-2" });
        return snapshot;
    }

    private string[] Ours() => [.. _kernel.OfProtocol("202").Select(r => $"{r.Destination} via {r.Gateway}").Order()];

    [Fact]
    public async Task WithTheCapability_RoutesFollowTheConfigurationServed()
    {
        var (store, programmer) = Start(TaskRouteMode.Auto, capability: true);
        await programmer.StartAsync(CancellationToken.None);
        try
        {
            Assert.Null(store.ApplySnapshot(WithRoutes()));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Ours().Length == 2), TimeSpan.FromSeconds(10), "the snapshot's routes");
            Assert.Equal(["10.240.1.0/24 via 10.231.5.1", "10.240.2.0/24 via 10.231.5.2"], Ours());

            var (result, reason) = store.ApplyDelta(Delta(1, 2, new ConfigChange { TaskRouteRemoved = "10.240.2.0/24" }));
            Assert.Equal((DeltaResult.Applied, null), (result, reason));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Ours().Length == 1), TimeSpan.FromSeconds(10), "the removed route gone");
            Assert.Equal(["10.240.1.0/24 via 10.231.5.1"], Ours());
            Assert.Equal([IPAddress.Parse("10.231.5.1")], store.Current!.TaskRoutes.Select(r => r.Via));
        }
        finally
        {
            await programmer.StopAsync(CancellationToken.None);
        }

        // Stopping removes nothing (fail static: a balancer restarted serves its cached configuration through them).
        Assert.Equal(["10.240.1.0/24 via 10.231.5.1"], Ours());
    }

    [Fact]
    public void ABadRoute_RefusesTheConfiguration_NamingTheField()
    {
        var (store, _) = Start(TaskRouteMode.Off, capability: false);
        var snapshot = WithRoutes();
        snapshot.Config.TaskRoutes[1].Via = "host-2";

        Assert.Equal("task_routes[1].via: 'host-2' is not an IPv4 address", store.ApplySnapshot(snapshot));
        Assert.Null(store.Current);
    }

    [Theory]
    [InlineData("Auto", false)]
    [InlineData("Off", true)]
    public async Task WithoutTheCapabilityOrSwitchedOff_NoToolRuns(string mode, bool capability)
    {
        var (store, programmer) = Start(Enum.Parse<TaskRouteMode>(mode), capability);
        Assert.Null(store.ApplySnapshot(WithRoutes()));
        await programmer.StartAsync(CancellationToken.None);
        try
        {
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(programmer.Passes >= 1), TimeSpan.FromSeconds(10), "a pass");
            _time.Advance(TimeSpan.FromMinutes(2));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(programmer.Passes >= 2), TimeSpan.FromSeconds(10), "a resync pass");
        }
        finally
        {
            await programmer.StopAsync(CancellationToken.None);
        }

        Assert.False(programmer.Programs);
        Assert.Empty(_kernel.CommandLines);
    }
}

using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

public sealed class PlacementPortTests
{
    [Fact]
    public void Place_StaticPortTakenOnOneInstance_UsesAnother()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000, usedPorts: [Tcp(80)]), Instance("i-2"));

        var result = Engine().Place(snapshot, Request(ports: [Static(80)]));

        var placement = Assert.Single(result.Placements);
        Assert.Equal("i-2", placement.InstanceId);
        Assert.Equal(new PortBinding("app", 80, 80, TransportProtocol.Tcp), Assert.Single(placement.PortBindings));
        Assert.True(result.Snapshot.Find("i-2")!.UsedPorts.Contains(Tcp(80)));
    }

    [Fact]
    public void Place_StaticPortTwice_SecondTaskGoesElsewhereThenFails()
    {
        var snapshot = Snapshot(Instance("i-1"), Instance("i-2"));

        var result = Engine().Place(snapshot, Request(count: 3, ports: [Static(8080)]));

        Assert.Equal(2, result.Placements.Length);
        Assert.Equal(2, result.Placements.Select(p => p.InstanceId).Distinct().Count());
        var failure = Assert.Single(result.Failures);
        Assert.Equal(PlacementFailureReasons.Ports, failure.Reason);
    }

    [Fact]
    public void Place_UdpAndTcpOfTheSamePort_DoNotConflict()
    {
        var snapshot = Snapshot(Instance("i-1", usedPorts: [Tcp(53)]));

        var result = Engine().Place(snapshot, Request(ports: [Static(53, TransportProtocol.Udp)]));

        Assert.Equal("i-1", Assert.Single(result.Placements).InstanceId);
        var used = result.Snapshot.Find("i-1")!.UsedPorts;
        Assert.True(used.Contains(new HostPort(53, TransportProtocol.Udp)));
        Assert.True(used.Contains(Tcp(53)));
    }

    [Fact]
    public void Place_DynamicPorts_LowestFreeInRangeWithoutCollisions()
    {
        var snapshot = Snapshot(Instance("i-1", usedPorts: [Tcp(50000)]));

        var result = Engine(first: 50000, last: 50010).Place(snapshot, Request(count: 3, ports: [Dynamic(80), Dynamic(443)]));

        var hostPorts = result.Placements.SelectMany(p => p.PortBindings).Select(b => b.HostPort).ToArray();
        Assert.Equal([50001, 50002, 50003, 50004, 50005, 50006], hostPorts);
        Assert.Equal([80, 443], result.Placements[0].PortBindings.Select(b => b.ContainerPort).ToArray());
        Assert.Equal(7, result.Snapshot.Find("i-1")!.UsedPorts.Count);
    }

    [Fact]
    public void Place_DynamicRangeExhausted_FailsWithResourcePorts()
    {
        var snapshot = Snapshot(Instance("i-1"));

        var result = Engine(first: 40000, last: 40002).Place(snapshot, Request(count: 4, ports: [Dynamic()]));

        Assert.Equal([40000, 40001, 40002], result.Placements.Select(p => p.PortBindings[0].HostPort).ToArray());
        var failure = Assert.Single(result.Failures);
        Assert.Equal(PlacementFailureReasons.Ports, failure.Reason);
        Assert.Equal("i-1", failure.InstanceId);
    }

    [Fact]
    public void Place_DynamicPortNeverPicksTheTasksOwnStaticPort()
    {
        var snapshot = Snapshot(Instance("i-1"));

        var placement = Assert.Single(Engine(first: 40000, last: 40001).Place(snapshot, Request(ports: [Dynamic(80), Static(40000)])).Placements);

        Assert.Equal([40001, 40000], placement.PortBindings.Select(b => b.HostPort).ToArray());
    }

    [Fact]
    public void Place_DynamicPortsFreedByAStoppedTask_AreReused()
    {
        var snapshot = Snapshot(Instance("i-1"));
        var engine = Engine(first: 40000, last: 40000);
        var first = engine.Place(snapshot, Request(ports: [Dynamic()]));
        Assert.Equal(PlacementFailureReasons.Ports, Assert.Single(engine.Place(first.Snapshot, Request(ports: [Dynamic()])).Failures).Reason);

        var freed = first.Snapshot.WithTaskStopped("i-1", first.Placements[0].Reservation);

        Assert.Equal(40000, Assert.Single(engine.Place(freed, Request(ports: [Dynamic()])).Placements).PortBindings[0].HostPort);
    }

    [Fact]
    public void PortSet_IsImmutableAndFindsFreePorts()
    {
        var empty = PortSet.Empty;
        var one = empty.Add(Tcp(100));
        Assert.Equal(0, empty.Count);
        Assert.Equal(1, one.Count);
        Assert.Same(one, one.Add(Tcp(100)));
        Assert.Equal(0, one.Remove(Tcp(100)).Count);
        var many = PortSet.Of(Enumerable.Range(0, 200).Select(p => Tcp(1000 + p)));
        Assert.Equal(1200, many.FindFree(TransportProtocol.Tcp, 1000, 2000, []));
        Assert.Equal(1000, many.FindFree(TransportProtocol.Udp, 1000, 2000, []));
        Assert.Equal(-1, many.FindFree(TransportProtocol.Tcp, 1000, 1199, []));
        Assert.Equal(1201, many.FindFree(TransportProtocol.Tcp, 1000, 2000, [1200]));
        Assert.Equal(65535, PortSet.Empty.FindFree(TransportProtocol.Tcp, 65535, 65535, []));
        Assert.Equal(Enumerable.Range(1000, 200).Select(Tcp), many);
    }
}

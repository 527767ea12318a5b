using System.Collections.Immutable;
using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

public sealed class ClusterSnapshotTests
{
    [Fact]
    public void Create_DuplicateIds_Throws() =>
        Assert.Throws<ArgumentException>(() => Snapshot(Instance("i-1"), Instance("i-1")));

    [Fact]
    public void Create_OrdersInstancesById_AndNormalizesEcsAttributeNames()
    {
        var snapshot = Snapshot(Instance("i-b"), Instance("i-a"));

        Assert.Equal(["i-a", "i-b"], snapshot.Instances.Select(i => i.InstanceId).ToArray());
        var view = snapshot.Find("i-a")!;
        Assert.Equal("z1", view.Attributes["berth.zone"]);
        Assert.False(view.Attributes.ContainsKey("ecs.availability-zone"));
        Assert.Null(snapshot.Find("i-c"));
    }

    [Fact]
    public void WithInstance_Draining_StopsPlacementThere()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000), Instance("i-2"));
        var draining = snapshot.WithInstance(snapshot.Find("i-1")! with { Status = InstanceStatus.Draining });

        Assert.Equal(["i-1"], Ids(Engine().Place(snapshot, Request())));
        Assert.Equal(["i-2"], Ids(Engine().Place(draining, Request())));
        Assert.Equal(snapshot.Version + 1, draining.Version);
        // Back to ACTIVE, with its tasks still counted.
        var active = draining.WithInstance(draining.Find("i-1")! with { Status = InstanceStatus.Active });
        Assert.Equal(["i-1"], Ids(Engine().Place(active, Request())));
    }

    [Fact]
    public void WithInstance_ChangedAttributes_AreUsedBySpreadAndMemberOf()
    {
        var snapshot = Snapshot(Instance("i-1", zone: "a"), Instance("i-2", zone: "a"));
        var spread = Request(count: 2, strategies: [PlacementStrategy.Spread("attribute:berth.zone")]);
        // Warm the lineage's indexes before the change.
        Assert.Equal(2, Engine().Place(snapshot, spread).Placements.Length);
        var moved = snapshot.WithInstance(snapshot.Find("i-2")! with
        {
            Attributes = ImmutableDictionary<string, string?>.Empty.Add("berth.zone", "b").Add("berth.instance-type", "c5.large"),
        });

        Assert.Equal(["i-1", "i-2"], Ids(Engine().Place(moved, spread)).Order().ToArray());
        var memberOf = Request(count: 2, constraints: [PlacementConstraint.MemberOf("attribute:berth.instance-type == c5.large")]);
        Assert.Equal(["i-2", "i-2"], Ids(Engine().Place(moved, memberOf)));
        Assert.Equal(PlacementFailureReasons.Attribute, Assert.Single(Engine().Place(snapshot, memberOf with { Count = 1 }).Failures).Reason);
    }

    [Fact]
    public void WithInstance_NewInstance_JoinsAndWithoutInstance_Leaves()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 1024));
        var grown = snapshot.WithInstance(Instance("i-2", memory: 100_000));

        Assert.Equal(["i-2"], Ids(Engine().Place(grown, Request())));
        var shrunk = grown.WithoutInstance("i-2");
        Assert.Equal(["i-1"], Ids(Engine().Place(shrunk, Request())));
        Assert.Same(shrunk, shrunk.WithoutInstance("i-9"));
        Assert.Equal(1, shrunk.InstanceCount);
    }

    [Fact]
    public void WithTaskStarted_UnknownInstance_Throws() =>
        Assert.Throws<KeyNotFoundException>(() => Snapshot(Instance("i-1")).WithTaskStarted("i-9", new TaskReservation(1, 1, [], null)));

    [Fact]
    public void SpreadIndex_BuiltOnce_IsCarriedToSuccessorsAndKeptCurrent()
    {
        var snapshot = Snapshot(Instance("i-1", zone: "a"), Instance("i-2", zone: "b"));
        var index = snapshot.GetSpreadIndex("berth.zone", null);
        Assert.Same(index, snapshot.GetSpreadIndex("berth.zone", null));

        var successor = snapshot.WithTaskStarted("i-1", new TaskReservation(100, 200, [], "g"));

        var bucket = successor.GetSpreadIndex("berth.zone", null).Buckets.Single(b => b.Value == "a");
        Assert.Equal(1, bucket.Count("g"));
        Assert.Equal(1, bucket.Count(null));
        Assert.Equal(0, index.Buckets.Single(b => b.Value == "a").Count("g"));
    }

    [Fact]
    public void ManySuccessors_ShareTheLineageAndStayConsistent()
    {
        var snapshot = Snapshot([.. Enumerable.Range(0, 300).Select(i => Instance($"i-{i:D3}", zone: $"z{i % 3}", memory: 4096))]);
        var engine = Engine();
        var request = Request(memory: 256, count: 10, strategies: [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Binpack("memory")]);
        var current = snapshot;
        for (var i = 0; i < 200; i++)
        {
            current = engine.Place(current, request).Snapshot;
        }

        // 2,000 tasks of 256 MiB, all accounted on the instances, evenly across the three zones.
        Assert.Equal(2000, current.Instances.Sum(v => v.RunningTasksCount));
        Assert.Equal((300 * 4096L) - (2000 * 256L), current.Instances.Sum(v => (long)v.RemainingMemory));
        var perZone = current.Instances.GroupBy(v => v.Attributes["berth.zone"]).Select(g => g.Sum(v => v.RunningTasksCount)).ToArray();
        Assert.True(perZone.Max() - perZone.Min() <= 1, string.Join(",", perZone));
        // Binpack inside zones: full instances rather than a thin layer everywhere.
        Assert.True(current.Instances.Count(v => v.RunningTasksCount == 0) >= 160);
        Assert.Equal(snapshot.Version + 2000, current.Version);
        Assert.Equal(0, snapshot.Instances.Sum(v => v.RunningTasksCount));
    }

    [Fact]
    public void Place_SameInstancesInAnyInputOrder_SameResult()
    {
        var instances = Enumerable.Range(0, 40).Select(i => Instance($"i-{i:D2}", zone: $"z{i % 3}", memory: 1024 * (1 + (i % 4)))).ToArray();
        var request = Request(memory: 512, count: 10, seed: 5,
            strategies: [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Binpack("memory")]);

        var ordered = Ids(Engine().Place(Snapshot(instances), request));
        var shuffled = Ids(Engine().Place(Snapshot([.. instances.OrderBy(i => i.InstanceId.GetHashCode(StringComparison.Ordinal))]), request));
        var reversed = Ids(Engine().Place(Snapshot([.. instances.Reverse()]), request));

        Assert.Equal(ordered, shuffled);
        Assert.Equal(ordered, reversed);
    }

    [Fact]
    public void WithReservations_EqualsReplayingEachTask()
    {
        var reservations = new[]
        {
            new TaskReservation(256, 512, [Tcp(49153)], "service:web"),
            new TaskReservation(128, 128, [], "service:web"),
            new TaskReservation(64, 64, [new HostPort(53, TransportProtocol.Udp)], null),
        };
        var fresh = Instance("i-1", cpu: 2048, memory: 4096);

        var rebuilt = Snapshot(fresh.WithReservations(reservations)).Find("i-1")!;
        var replayed = reservations.Aggregate(Snapshot(fresh), (s, r) => s.WithTaskStarted("i-1", r)).Find("i-1")!;

        Assert.Equal(replayed.RemainingCpu, rebuilt.RemainingCpu);
        Assert.Equal(1600, rebuilt.RemainingCpu);
        Assert.Equal(replayed.RemainingMemory, rebuilt.RemainingMemory);
        Assert.Equal(replayed.RunningTasksCount, rebuilt.RunningTasksCount);
        Assert.Equal(replayed.UsedPorts, rebuilt.UsedPorts);
        Assert.Equal(2, rebuilt.TaskCount("service:web"));
    }
}

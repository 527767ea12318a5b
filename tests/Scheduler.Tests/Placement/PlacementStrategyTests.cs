using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

public sealed class PlacementStrategyTests
{
    [Fact]
    public void BinpackMemory_PicksTheLeastRemainingMemoryThatFits()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 4096), Instance("i-2", memory: 1024), Instance("i-3", memory: 300), Instance("i-4", memory: 2048));

        var result = Engine().Place(snapshot, Request(memory: 512, count: 3, strategies: [PlacementStrategy.Binpack("memory")]));

        // i-3 is too small; i-2 takes two tasks (1024 -> 512 -> 0), then i-4.
        Assert.Equal(["i-2", "i-2", "i-4"], Ids(result));
    }

    [Fact]
    public void BinpackCpu_PicksTheLeastRemainingCpuThatFits()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 4096), Instance("i-2", cpu: 1024), Instance("i-3", cpu: 2048));

        var result = Engine().Place(snapshot, Request(cpu: 1024, count: 3, strategies: [PlacementStrategy.Binpack("cpu")]));

        Assert.Equal(["i-2", "i-3", "i-3"], Ids(result));
    }

    [Fact]
    public void BinpackCpu_SkipsInstancesWhoseMemoryIsExhausted()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 1024, memory: 100), Instance("i-2", cpu: 2048, memory: 4096));

        Assert.Equal(["i-2"], Ids(Engine().Place(snapshot, Request(cpu: 512, memory: 512, strategies: [PlacementStrategy.Binpack("cpu")]))));
    }

    [Fact]
    public void SpreadZone_BalancesTasksAcrossZones()
    {
        var snapshot = Snapshot(
            Instance("i-1", zone: "a"), Instance("i-2", zone: "a"), Instance("i-3", zone: "a"),
            Instance("i-4", zone: "b"), Instance("i-5", zone: "c"));

        var result = Engine().Place(snapshot, Request(count: 6, strategies: [PlacementStrategy.Spread("attribute:ecs.availability-zone")]));

        var zones = result.Placements.Select(p => snapshot.Find(p.InstanceId)!.Attributes["berth.zone"]).ToArray();
        Assert.Equal(2, zones.Count(z => z == "a"));
        Assert.Equal(2, zones.Count(z => z == "b"));
        Assert.Equal(2, zones.Count(z => z == "c"));
        // Consecutive tasks never land in the same zone while another has fewer.
        Assert.Equal(3, zones.Take(3).Distinct().Count());
    }

    [Fact]
    public void SpreadZone_CountsTheGroupsExistingTasks()
    {
        var snapshot = Snapshot(Instance("i-1", zone: "a"), Instance("i-2", zone: "b"))
            .WithTaskStarted("i-1", new TaskReservation(1, 1, [], "service:web"))
            .WithTaskStarted("i-1", new TaskReservation(1, 1, [], "service:web"))
            .WithTaskStarted("i-2", new TaskReservation(1, 1, [], "service:other"))
            .WithTaskStarted("i-2", new TaskReservation(1, 1, [], "service:other"))
            .WithTaskStarted("i-2", new TaskReservation(1, 1, [], "service:other"));

        var result = Engine().Place(snapshot, Request(count: 2, group: "service:web", strategies: [PlacementStrategy.Spread("attribute:berth.zone")]));

        // Zone a has two web tasks, zone b none: both new ones go to b, whatever other groups run there.
        Assert.Equal(["i-2", "i-2"], Ids(result));
    }

    [Fact]
    public void SpreadZone_InstancesWithoutTheAttribute_FormTheirOwnBucket()
    {
        var snapshot = Snapshot(Instance("i-1", zone: "a"), Instance("i-2", zone: null));

        var result = Engine().Place(snapshot, Request(count: 2, strategies: [PlacementStrategy.Spread("attribute:berth.zone")]));

        Assert.Equal(["i-1", "i-2"], Ids(result).Order().ToArray());
    }

    [Fact]
    public void SpreadInstanceId_OneTaskPerInstanceBeforeAnySecond()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100_000), Instance("i-2"), Instance("i-3"));

        var result = Engine().Place(snapshot, Request(count: 6, strategies: [PlacementStrategy.Spread("instanceId")]));

        var ids = Ids(result);
        Assert.Equal(["i-1", "i-2", "i-3"], ids.Take(3).Order().ToArray());
        Assert.Equal(["i-1", "i-2", "i-3"], ids.Skip(3).Order().ToArray());
    }

    [Fact]
    public void SpreadHost_IsSpreadInstanceId()
    {
        Assert.Equal(PlacementStrategy.Spread("instanceId"), PlacementStrategy.Spread("host"));
        Assert.Equal("spread(instanceId)", PlacementStrategy.Parse("spread(host)").ToString());
    }

    [Fact]
    public void SpreadZoneThenBinpackMemory_BinpacksWithinTheLeastUsedZone()
    {
        var snapshot = Snapshot(
            Instance("a-big", zone: "a", memory: 8192), Instance("a-small", zone: "a", memory: 1024),
            Instance("b-big", zone: "b", memory: 8192), Instance("b-small", zone: "b", memory: 2048));

        var result = Engine().Place(snapshot, Request(memory: 512, count: 4,
            strategies: [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Binpack("memory")]));

        // Each zone gets two; inside a zone the fullest instance that fits is used first.
        Assert.Equal(["a-small", "a-small", "b-small", "b-small"], Ids(result).Order().ToArray());
    }

    [Fact]
    public void BinpackThenSpread_SpreadBreaksBinpackTies()
    {
        var snapshot = Snapshot(Instance("a-1", zone: "a", memory: 1024), Instance("b-1", zone: "b", memory: 1024), Instance("c-1", zone: "c", memory: 4096))
            .WithTaskStarted("a-1", new TaskReservation(0, 0, [], "service:web"));

        var result = Engine().Place(snapshot, Request(memory: 256, strategies: [PlacementStrategy.Binpack("memory"), PlacementStrategy.Spread("attribute:berth.zone")]));

        // a-1 and b-1 tie on memory; zone b has fewer web tasks.
        Assert.Equal(["b-1"], Ids(result));
    }

    [Fact]
    public void SpreadZoneThenSpreadInstance_BalancesZonesThenInstances()
    {
        var snapshot = Snapshot(
            Instance("a-1", zone: "a"), Instance("a-2", zone: "a"), Instance("b-1", zone: "b"), Instance("b-2", zone: "b"));

        var result = Engine().Place(snapshot, Request(count: 4,
            strategies: [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Spread("instanceId")]));

        Assert.Equal(["a-1", "a-2", "b-1", "b-2"], Ids(result).Order().ToArray());
    }

    [Fact]
    public void NoStrategy_PrefersTheInstanceWithTheMostRemainingMemory()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 1024), Instance("i-2", memory: 4096), Instance("i-3", memory: 2048));

        Assert.Equal(["i-2", "i-2", "i-3"], Ids(Engine().Place(snapshot, Request(memory: 1024, count: 3))));
    }

    [Fact]
    public void Random_SameSeed_SameResult_DifferentSeeds_Differ()
    {
        var snapshot = Snapshot([.. Enumerable.Range(0, 50).Select(i => Instance($"i-{i:D2}"))]);
        PlacementRequest WithSeed(int seed) => Request(count: 10, seed: seed, strategies: [PlacementStrategy.Random()]);

        var first = Ids(Engine().Place(snapshot, WithSeed(7)));
        Assert.Equal(first, Ids(Engine().Place(snapshot, WithSeed(7))));
        var others = Enumerable.Range(8, 5).Select(seed => string.Join(",", Ids(Engine().Place(snapshot, WithSeed(seed))))).ToHashSet();
        Assert.True(others.Count > 1 || !others.Contains(string.Join(",", first)));
        Assert.True(first.Distinct().Count() > 1, "ten random placements on fifty instances used one instance only");
    }

    [Fact]
    public void Random_UsesOnlyFeasibleInstancesAndCoversThemAll()
    {
        var instances = Enumerable.Range(0, 20).Select(i => Instance($"i-{i:D2}", memory: i < 10 ? 100 : 100_000)).ToArray();
        var snapshot = Snapshot(instances);

        var result = Engine().Place(snapshot, Request(cpu: 10, memory: 512, count: 400, seed: 3, strategies: [PlacementStrategy.Random()]));

        Assert.Equal(400, result.Placements.Length);
        var used = Ids(result).Distinct().Order().ToArray();
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"i-{i:D2}"), used);
    }

    [Fact]
    public void Random_NothingFits_FailsWithTheReason()
    {
        var snapshot = Snapshot(Instance("i-1", memory: 100));
        Assert.Equal(PlacementFailureReasons.Memory, Assert.Single(Engine().Place(snapshot, Request(strategies: [PlacementStrategy.Random()])).Failures).Reason);
    }

    [Theory]
    [InlineData("binpack(memory)", "binpack(memory)")]
    [InlineData("binpack(cpu)", "binpack(cpu)")]
    [InlineData("spread(attribute:ecs.availability-zone)", "spread(attribute:berth.zone)")]
    [InlineData("spread(instanceId)", "spread(instanceId)")]
    [InlineData("random", "random")]
    public void Parse_CliForm_RoundTripsCanonically(string text, string canonical) =>
        Assert.Equal(canonical, PlacementStrategy.Parse(text).ToString());

    [Theory]
    [InlineData("binpack", "disk")]
    [InlineData("spread", "zone")]
    [InlineData("spread", "attribute:")]
    [InlineData("random", "x")]
    [InlineData("firstFit", null)]
    public void Create_InvalidStrategy_Throws(string type, string? field) =>
        Assert.Throws<ArgumentException>(() => PlacementStrategy.Create(type, field));
}

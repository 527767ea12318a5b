using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

public sealed class PlacementResourceTests
{
    [Fact]
    public void Place_TaskFits_ReservesCpuAndMemoryInTheSuccessor()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 1024, memory: 2048));

        var result = Engine().Place(snapshot, Request(cpu: 256, memory: 512, count: 2));

        Assert.Equal(["i-1", "i-1"], Ids(result));
        Assert.Empty(result.Failures);
        var after = result.Snapshot.Find("i-1")!;
        Assert.Equal(512, after.RemainingCpu);
        Assert.Equal(1024, after.RemainingMemory);
        Assert.Equal(2, after.RunningTasksCount);
        Assert.Equal(2, after.TaskCount("service:web"));
        // The snapshot placed against is untouched.
        Assert.Equal(1024, snapshot.Find("i-1")!.RemainingCpu);
        Assert.Same(snapshot, result.BaseSnapshot);
        Assert.Equal(snapshot.Version + 2, result.Snapshot.Version);
    }

    [Fact]
    public void Place_NotEnoughCpuAnywhere_FailsWithResourceCpu()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 512), Instance("i-2", cpu: 1000));

        var result = Engine().Place(snapshot, Request(cpu: 1024));

        Assert.Empty(result.Placements);
        var failure = Assert.Single(result.Failures);
        Assert.Equal(PlacementFailureReasons.Cpu, failure.Reason);
        Assert.Equal("i-1", failure.InstanceId);
        Assert.Same(snapshot, result.Snapshot);
    }

    [Fact]
    public void Place_CpuFitsButMemoryDoesNot_FailsWithResourceMemoryOnTheClosestInstance()
    {
        // i-1 lacks CPU (fails earlier); i-2 has CPU but lacks memory, so it is the closest.
        var snapshot = Snapshot(Instance("i-1", cpu: 100, memory: 100_000), Instance("i-2", cpu: 4096, memory: 100));

        var failure = Assert.Single(Engine().Place(snapshot, Request(cpu: 1024, memory: 512)).Failures);

        Assert.Equal(PlacementFailureReasons.Memory, failure.Reason);
        Assert.Equal("i-2", failure.InstanceId);
        Assert.Contains("512", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Place_MoreTasksThanFit_PlacesWhatFitsAndFailsTheRest()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 1024, memory: 1024), Instance("i-2", cpu: 1024, memory: 1024));

        var result = Engine().Place(snapshot, Request(cpu: 512, memory: 256, count: 5));

        Assert.Equal(4, result.Placements.Length);
        Assert.Equal(2, result.Placements.Count(p => p.InstanceId == "i-1"));
        Assert.Single(result.Failures);
        Assert.Equal(PlacementFailureReasons.Cpu, result.Failures[0].Reason);
        Assert.All(result.Snapshot.Instances, i => Assert.Equal(0, i.RemainingCpu));
    }

    [Fact]
    public void Place_DrainingAndInactiveInstances_AreNeverUsed()
    {
        var snapshot = Snapshot(
            Instance("i-1", status: InstanceStatus.Draining, memory: 100_000),
            Instance("i-2", status: InstanceStatus.Inactive, memory: 100_000),
            Instance("i-3", memory: 1024));

        var result = Engine().Place(snapshot, Request(memory: 512, count: 3));

        Assert.Equal(["i-3", "i-3"], Ids(result));
        Assert.Equal(PlacementFailureReasons.Memory, Assert.Single(result.Failures).Reason);
    }

    [Fact]
    public void Place_NoActiveInstance_FailsWithNoActiveInstances()
    {
        var snapshot = Snapshot(Instance("i-1", status: InstanceStatus.Draining));

        var failure = Assert.Single(Engine().Place(snapshot, Request()).Failures);

        Assert.Equal(PlacementFailureReasons.NoActiveInstances, failure.Reason);
        Assert.Null(failure.InstanceId);
    }

    [Fact]
    public void Place_AgentDisconnected_FailsWithAgent()
    {
        var snapshot = Snapshot(Instance("i-1", connected: false), Instance("i-2", connected: false));

        var result = Engine().Place(snapshot, Request(count: 2));

        Assert.Equal(2, result.Failures.Length);
        Assert.All(result.Failures, f => Assert.Equal(PlacementFailureReasons.Agent, f.Reason));
    }

    [Fact]
    public void Place_OneAgentDisconnected_UsesTheConnectedOne()
    {
        var snapshot = Snapshot(Instance("i-1", connected: false, memory: 100_000), Instance("i-2"));

        Assert.Equal(["i-2"], Ids(Engine().Place(snapshot, Request())));
    }

    [Fact]
    public void FromContainers_HardMemoryReserves_ReservationWhenNoHardLimit()
    {
        var requirements = TaskRequirements.FromContainers(null, null,
        [
            new ContainerRequirements("a", 256, Memory: 512, MemoryReservation: 128, []),
            new ContainerRequirements("b", 128, Memory: null, MemoryReservation: 300, []),
            new ContainerRequirements("c", 0, Memory: null, MemoryReservation: null, [Dynamic(8080)]),
        ]);

        Assert.Equal(384, requirements.Cpu);
        Assert.Equal(812, requirements.Memory);
        Assert.Single(requirements.Ports);
    }

    [Fact]
    public void FromContainers_TaskLevelValues_Win()
    {
        var requirements = TaskRequirements.FromContainers(1024, 2048, [new ContainerRequirements("a", 256, 512, null, [])]);

        Assert.Equal(1024, requirements.Cpu);
        Assert.Equal(2048, requirements.Memory);
    }

    [Fact]
    public void WithTaskStopped_GivesTheReservationBack()
    {
        var snapshot = Snapshot(Instance("i-1", cpu: 1024, memory: 1024));
        var result = Engine().Place(snapshot, Request(cpu: 1024, memory: 1024, ports: [Static(80)]));
        var placement = Assert.Single(result.Placements);
        Assert.Equal(PlacementFailureReasons.Cpu, Assert.Single(Engine().Place(result.Snapshot, Request(cpu: 1)).Failures).Reason);

        var freed = result.Snapshot.WithTaskStopped(placement.InstanceId, placement.Reservation);

        var view = freed.Find("i-1")!;
        Assert.Equal(1024, view.RemainingCpu);
        Assert.Equal(1024, view.RemainingMemory);
        Assert.False(view.UsedPorts.Contains(Tcp(80)));
        Assert.Equal(0, view.TaskCount("service:web"));
        Assert.Single(Engine().Place(freed, Request(cpu: 1024, memory: 1024, ports: [Static(80)])).Placements);
    }

    [Fact]
    public void Place_InvalidRequest_Throws()
    {
        var snapshot = Snapshot(Instance("i-1"));
        Assert.Throws<ArgumentException>(() => Engine().Place(snapshot, Request(count: 0)));
        var six = Enumerable.Repeat(PlacementStrategy.Binpack("cpu"), 6).ToArray();
        Assert.Throws<ArgumentException>(() => Engine().Place(snapshot, Request(strategies: six)));
        Assert.Throws<ArgumentException>(() => new TaskRequirements(1, 1, [Static(80), Static(80)]));
        Assert.Throws<ArgumentException>(() => Engine(first: 100, last: 99));
    }
}

using System.Collections.Immutable;
using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

/// <summary>
/// The scale-in choice against a brute-force oracle written here from the documented order (ScaleInSelector's summary),
/// recomputed from scratch for every task chosen, plus the properties ECS promises: spread leaves the field balanced as
/// well as any choice could (checked by trying every subset), binpack empties the least loaded host first, tasks that
/// break a constraint go first.
/// </summary>
public sealed class ScaleInSelectorTests
{
    private static readonly string[][] s_chains =
    [
        [],
        ["spread(attribute:berth.zone)"],
        ["spread(instanceId)"],
        ["binpack(memory)"],
        ["binpack(cpu)"],
        ["spread(attribute:berth.zone)", "binpack(memory)"],
        ["spread(attribute:berth.zone)", "spread(instanceId)"],
        ["binpack(cpu)", "spread(attribute:berth.zone)"],
        ["spread(attribute:rack)", "spread(attribute:berth.zone)", "binpack(memory)"],
    ];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 60)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Choice_EqualsBruteForceOracle(int seed)
    {
        var random = new Random(seed);
        var (snapshot, tasks) = RandomGroup(random);
        var chain = s_chains[seed % s_chains.Length].Select(PlacementStrategy.Parse).ToList();
        PlacementConstraint[] constraints = (seed % 4) switch
        {
            0 => [PlacementConstraint.MemberOf("attribute:rack != r0")],
            1 => [PlacementConstraint.DistinctInstance()],
            _ => [],
        };
        var count = random.Next(0, tasks.Count + 2);
        var request = new ScaleInRequest { Count = count, Strategies = chain, Constraints = constraints };

        var chosen = ScaleInSelector.Choose(snapshot, tasks, request);

        Assert.Equal(Oracle(snapshot, tasks, chain, constraints, count).ToArray(), chosen.ToArray());
    }

    [Fact]
    public void SpreadZone_NineToThree_LeavesOnePerZone()
    {
        // Nine tasks, unevenly over six hosts in three zones, the newest all in zone z1: newest-first would empty z2 and z3.
        var snapshot = Snapshot(Instance("a1", zone: "z1"), Instance("a2", zone: "z1"), Instance("b1", zone: "z2"), Instance("b2", zone: "z2"), Instance("c1", zone: "z3"), Instance("c2", zone: "z3"));
        string[] hosts = ["b1", "b2", "b1", "c1", "c2", "c1", "a1", "a2", "a1"];
        var tasks = hosts.Select((h, i) => Candidate($"t{i}", h, created: i)).ToList();

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = 6, Strategies = [PlacementStrategy.Spread("attribute:berth.zone")] });

        var left = tasks.Where((_, i) => !chosen.Contains(i)).Select(t => snapshot.Find(t.InstanceId)!.Attributes["berth.zone"]).Order().ToList();
        Assert.Equal(["z1", "z2", "z3"], left);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Spread_LeavesTheLargestValueAsSmallAsAnyChoiceCould(int seed)
    {
        var random = new Random(seed);
        var zones = random.Next(2, 5);
        var instances = Enumerable.Range(0, random.Next(2, 7)).Select(i => Instance($"i{i}", zone: $"z{random.Next(zones)}")).ToArray();
        var snapshot = Snapshot(instances);
        var tasks = Enumerable.Range(0, random.Next(2, 12))
            .Select(i => Candidate($"t{i}", instances[random.Next(instances.Length)].InstanceId, created: random.Next(100), stoppable: random.Next(4) != 0))
            .ToList();
        var count = random.Next(0, tasks.Count(t => t.Stoppable) + 1);

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = count, Strategies = [PlacementStrategy.Spread("attribute:berth.zone")] });

        Assert.Equal(count, chosen.Length);
        var best = Subsets(tasks.Select((t, i) => (t, i)).Where(x => x.t.Stoppable).Select(x => x.i).ToList(), count)
            .Min(subset => LargestZone(snapshot, tasks, subset));
        var actual = LargestZone(snapshot, tasks, [.. chosen]);
        Assert.True(best == actual, $"best {best}, chosen {actual}: count {count}, chosen [{string.Join(",", chosen)}], tasks {string.Join(" ", tasks.Select(t => $"{t.TaskId}@{t.InstanceId}/{snapshot.Find(t.InstanceId)!.Attributes["berth.zone"]}{(t.Stoppable ? "" : "!")}"))}");
    }

    [Fact]
    public void Binpack_StopsWhereItFreesAHostSoonest()
    {
        // h1 is nearly empty (one small task), h2 full: binpack(memory) takes h1's task first, emptying h1.
        var snapshot = Snapshot(Instance("h1", memory: 8192), Instance("h2", memory: 8192))
            .WithTaskStarted("h1", Reservation(512))
            .WithTaskStarted("h2", Reservation(2048)).WithTaskStarted("h2", Reservation(2048)).WithTaskStarted("h2", Reservation(2048));
        List<ScaleInCandidate> tasks = [Candidate("a", "h2", memory: 2048), Candidate("b", "h2", memory: 2048), Candidate("c", "h1", memory: 512), Candidate("d", "h2", memory: 2048)];

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = 2, Strategies = [PlacementStrategy.Binpack("memory")] });

        Assert.Equal("c", tasks[chosen[0]].TaskId);
        Assert.Equal("h2", tasks[chosen[1]].InstanceId);
    }

    [Fact]
    public void Constraints_TasksThatBreakThemGoFirst()
    {
        var snapshot = Snapshot(Instance("in1", type: "m5.large"), Instance("out", type: "c5.large"), Instance("in2", type: "m5.large"));
        List<ScaleInCandidate> tasks = [Candidate("old-in", "in1", created: 1), Candidate("old-out", "out", created: 0), Candidate("new-in", "in2", created: 9), Candidate("gone", "deregistered", created: 5)];

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest
        {
            Count = 2,
            Constraints = [PlacementConstraint.MemberOf("attribute:ecs.instance-type == m5.large")],
        });

        Assert.Equal(["gone", "old-out"], chosen.Select(i => tasks[i].TaskId).Order());
    }

    [Fact]
    public void DistinctInstance_StopsTheSecondTaskOnAHostFirst()
    {
        var snapshot = Snapshot(Instance("h1"), Instance("h2"), Instance("h3"));
        List<ScaleInCandidate> tasks = [Candidate("a", "h1", created: 9), Candidate("b", "h2", created: 1), Candidate("c", "h2", created: 2), Candidate("d", "h3", created: 8)];

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = 1, Strategies = [PlacementStrategy.Random()], Constraints = [PlacementConstraint.DistinctInstance()], RandomSeed = 3 });

        Assert.Equal("h2", tasks[Assert.Single(chosen)].InstanceId);
    }

    [Fact]
    public void CallersRank_ComesBeforeTheStrategy()
    {
        var snapshot = Snapshot(Instance("a", zone: "z1"), Instance("b", zone: "z2"));
        List<ScaleInCandidate> tasks = [Candidate("a1", "a"), Candidate("a2", "a"), Candidate("a3", "a"), Candidate("b1", "b") with { Rank = -1 }];

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = 2, Strategies = [PlacementStrategy.Spread("attribute:berth.zone")] });

        Assert.Equal("b1", tasks[chosen[0]].TaskId);
        Assert.Equal("a", tasks[chosen[1]].InstanceId);
    }

    [Fact]
    public void Random_IsSeededAndReachesEveryTask()
    {
        var snapshot = Snapshot(Instance("h1"), Instance("h2"));
        var tasks = Enumerable.Range(0, 6).Select(i => Candidate($"t{i}", i % 2 == 0 ? "h1" : "h2", created: i)).ToList();
        var seen = new HashSet<string>();
        for (var seed = 0; seed < 200; seed++)
        {
            var request = new ScaleInRequest { Count = 1, Strategies = [PlacementStrategy.Random()], RandomSeed = seed };
            var first = ScaleInSelector.Choose(snapshot, tasks, request);
            Assert.Equal(first.ToArray(), ScaleInSelector.Choose(snapshot, tasks, request).ToArray());
            seen.Add(tasks[Assert.Single(first)].TaskId);
        }

        Assert.Equal(6, seen.Count);
    }

    [Fact]
    public void OnlyStoppableTasksAreChosen_AndNoMoreThanThereAre()
    {
        var snapshot = Snapshot(Instance("h1"));
        List<ScaleInCandidate> tasks = [Candidate("a", "h1"), Candidate("b", "h1", stoppable: false), Candidate("c", "h1")];

        var chosen = ScaleInSelector.Choose(snapshot, tasks, new ScaleInRequest { Count = 5 });

        Assert.Equal(["a", "c"], chosen.Select(i => tasks[i].TaskId).Order());
    }

    /// <summary>The documented order, literally: every step recomputes every count from the tasks not yet chosen.</summary>
    private static ImmutableArray<int> Oracle(ClusterSnapshot snapshot, List<ScaleInCandidate> tasks, List<PlacementStrategy> chain, PlacementConstraint[] constraints, int count)
    {
        var effective = chain.Count == 0 ? [PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Spread("instanceId")] : chain;
        var chosen = new List<int>();
        while (chosen.Count < count)
        {
            var remaining = Enumerable.Range(0, tasks.Count).Where(i => !chosen.Contains(i)).ToList();
            var candidates = remaining.Where(i => tasks[i].Stoppable).ToList();
            if (candidates.Count == 0)
            {
                break;
            }

            string Value(int i, string attribute) =>
                snapshot.Find(tasks[i].InstanceId) is { } v && v.Attributes.TryGetValue(attribute, out var value) && value is not null ? value : "(none)";
            bool Breaks(int i)
            {
                var view = snapshot.Find(tasks[i].InstanceId);
                return view is null
                    || constraints.Any(c => c.Type == PlacementConstraintType.MemberOf && !c.Expression!.Matches(view))
                    || (constraints.Any(c => c.Type == PlacementConstraintType.DistinctInstance) && remaining.Count(j => tasks[j].InstanceId == tasks[i].InstanceId) > 1);
            }

            long Key(int i, PlacementStrategy s)
            {
                var task = tasks[i];
                if (s.Type == PlacementStrategyType.Binpack)
                {
                    var view = snapshot.Find(task.InstanceId);
                    var gone = chosen.Append(i).Where(j => tasks[j].InstanceId == task.InstanceId);
                    return s.Field == "cpu"
                        ? (view?.RemainingCpu ?? 0) + gone.Sum(j => (long)tasks[j].Reservation.Cpu)
                        : (view?.RemainingMemory ?? 0) + gone.Sum(j => (long)tasks[j].Reservation.Memory);
                }

                return s.SpreadAttribute is { } attribute
                    ? remaining.Count(j => Value(j, attribute) == Value(i, attribute))
                    : remaining.Count(j => tasks[j].InstanceId == task.InstanceId);
            }

            IOrderedEnumerable<int> ordered = candidates.OrderBy(i => tasks[i].Rank).ThenByDescending(Breaks);
            foreach (var strategy in effective)
            {
                var s = strategy;
                ordered = ordered.ThenByDescending(i => Key(i, s));
            }

            chosen.Add(ordered.ThenByDescending(i => tasks[i].CreatedTicks).ThenByDescending(i => tasks[i].TaskId, StringComparer.Ordinal).First());
        }

        return [.. chosen];
    }

    private static (ClusterSnapshot Snapshot, List<ScaleInCandidate> Tasks) RandomGroup(Random random)
    {
        var instances = new List<ContainerInstanceView>();
        for (var i = 0; i < random.Next(1, 12); i++)
        {
            var attributes = ImmutableDictionary<string, string?>.Empty.Add("ecs.instance-type", "m5.large");
            if (random.Next(6) != 0)
            {
                attributes = attributes.Add("berth.zone", $"z{random.Next(1, 4)}");
            }

            if (random.Next(2) == 0)
            {
                attributes = attributes.Add("rack", $"r{random.Next(3)}");
            }

            var memory = random.Next(1, 5) * 2048;
            instances.Add(new ContainerInstanceView
            {
                InstanceId = $"i-{i:D2}",
                Attributes = attributes,
                RegisteredCpu = 4096,
                RegisteredMemory = memory,
                RemainingCpu = 4096 - (random.Next(4) * 256),
                RemainingMemory = memory - (random.Next(4) * 256),
            });
        }

        var tasks = new List<ScaleInCandidate>();
        for (var t = random.Next(1, 30); t > 0; t--)
        {
            // Now and then a task on an instance the snapshot no longer has.
            var instance = random.Next(15) == 0 ? "i-gone" : instances[random.Next(instances.Count)].InstanceId;
            tasks.Add(new ScaleInCandidate($"t{t:D2}", instance, Reservation(random.Next(1, 4) * 128, random.Next(0, 3) * 128), random.Next(5) == 0 ? 1 : 0, random.Next(6), random.Next(5) != 0));
        }

        return (ClusterSnapshot.Create("scale-in", instances), tasks);
    }

    private static int LargestZone(ClusterSnapshot snapshot, List<ScaleInCandidate> tasks, IReadOnlyCollection<int> stopped) =>
        tasks.Where((_, i) => !stopped.Contains(i))
            .GroupBy(t => snapshot.Find(t.InstanceId)!.Attributes["berth.zone"])
            .Select(g => g.Count())
            .DefaultIfEmpty(0)
            .Max();

    private static IEnumerable<List<int>> Subsets(List<int> items, int size)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }

        for (var i = 0; i <= items.Count - size; i++)
        {
            foreach (var rest in Subsets(items[(i + 1)..], size - 1))
            {
                yield return [items[i], .. rest];
            }
        }
    }

    private static TaskReservation Reservation(int memory, int cpu = 0) => new(cpu, memory, [], "service:web");

    private static ScaleInCandidate Candidate(string id, string instance, long created = 0, int memory = 256, bool stoppable = true) =>
        new(id, instance, Reservation(memory), 0, created, stoppable);
}

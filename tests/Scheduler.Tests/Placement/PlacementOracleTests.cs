using System.Collections.Immutable;
using Berth.Scheduler.Placement;
using static Berth.Scheduler.Tests.Placement.Cluster;

namespace Berth.Scheduler.Tests.Placement;

/// <summary>
/// The indexed engine against a brute-force oracle written here from the documented order (PlacementChooser's summary):
/// random clusters, random strategy chains and constraints, many tasks in a row. Any index that goes stale, skips a
/// candidate it should not, or breaks a tie differently shows up as a different instance.
/// </summary>
public sealed class PlacementOracleTests
{
    private static readonly string[][] s_chains =
    [
        [],
        ["binpack(memory)"],
        ["binpack(cpu)"],
        ["spread(attribute:berth.zone)"],
        ["spread(instanceId)"],
        ["spread(attribute:berth.zone)", "binpack(memory)"],
        ["spread(attribute:berth.zone)", "binpack(cpu)"],
        ["binpack(memory)", "spread(attribute:berth.zone)"],
        ["spread(attribute:berth.zone)", "spread(instanceId)"],
        ["spread(attribute:berth.zone)", "spread(attribute:berth.instance-type)", "binpack(memory)"],
        ["binpack(cpu)", "binpack(memory)"],
        ["spread(instanceId)", "binpack(memory)"],
        ["spread(attribute:rack)", "spread(attribute:berth.zone)", "binpack(cpu)"],
    ];

    private static readonly string?[] s_constraints =
    [
        null,
        "attribute:ecs.instance-type =~ m5.*",
        "attribute:berth.zone != z3 and attribute:rack exists",
        "not(task:group == g1)",
        "runningTasksCount < 6",
        "distinctInstance",
    ];

    public static TheoryData<int> Seeds() => [.. Enumerable.Range(1, 40)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void IndexedChoice_EqualsBruteForceOracle(int seed)
    {
        var random = new Random(seed);
        var snapshot = RandomCluster(random);
        var engine = Engine(first: 30000, last: 30000 + random.Next(2, 40));
        var chain = s_chains[seed % s_chains.Length];
        var constraint = s_constraints[random.Next(s_constraints.Length)];
        var group = random.Next(4) == 0 ? null : $"g{random.Next(3)}";
        var ports = random.Next(3) switch
        {
            0 => Array.Empty<PortRequest>(),
            1 => [Dynamic()],
            _ => [Static(8000 + random.Next(3)), Dynamic(9000, TransportProtocol.Udp)],
        };
        var request = new PlacementRequest
        {
            Task = new TaskRequirements(random.Next(1, 9) * 64, random.Next(1, 9) * 128, [.. ports]),
            Count = 1,
            Group = group,
            Strategies = [.. chain.Select(PlacementStrategy.Parse)],
            Constraints = constraint switch
            {
                null => [],
                "distinctInstance" => [PlacementConstraint.DistinctInstance()],
                _ => [PlacementConstraint.MemberOf(constraint)],
            },
        };

        for (var task = 0; task < 60; task++)
        {
            var context = new PlacementContext(snapshot, request, engine.Options);
            var expected = Oracle(snapshot, context, request);
            var result = engine.Place(snapshot, request);
            if (expected < 0)
            {
                Assert.Empty(result.Placements);
                Assert.Single(result.Failures);
                break;
            }

            Assert.Equal(snapshot.At(expected).InstanceId, Assert.Single(result.Placements).InstanceId);
            snapshot = result.Snapshot;
            if (random.Next(5) == 0)
            {
                // Stop a random earlier task now and then, so that resources also come back.
                var victim = snapshot.Instances.Where(i => i.RunningTasksCount > 0).OrderBy(_ => random.Next()).FirstOrDefault();
                if (victim is not null && victim.TaskGroupCounts.Count > 0)
                {
                    var stoppedGroup = victim.TaskGroupCounts.Keys.First();
                    snapshot = snapshot.WithTaskStopped(victim.InstanceId, new TaskReservation(10, 10, [], stoppedGroup));
                }
            }

            if (random.Next(10) == 0)
            {
                // Flip an instance's status or connection: an incremental change inside the lineage.
                var flip = snapshot.At(random.Next(snapshot.InstanceCount));
                snapshot = snapshot.WithInstance(random.Next(2) == 0
                    ? flip with { Status = flip.Status == InstanceStatus.Active ? InstanceStatus.Draining : InstanceStatus.Active }
                    : flip with { AgentConnected = !flip.AgentConnected });
            }
        }
    }

    /// <summary>
    /// spread(instanceId) last, long enough that every instance hosts the group several times over: the walk stops at
    /// the bucket's lowest count (GroupLevel), which must stay exact through placements, stops and status flips.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void SpreadInstanceLast_AboveLevelZero_EqualsBruteForceOracle(int seed)
    {
        var random = new Random(seed);
        var snapshot = RandomCluster(random);
        var engine = Engine(first: 30000, last: 40000);
        string[] chain = seed % 2 == 0 ? ["spread(attribute:berth.zone)", "spread(instanceId)"] : ["spread(instanceId)"];
        var request = new PlacementRequest
        {
            Task = new TaskRequirements(random.Next(0, 3) * 8, random.Next(1, 3) * 16, seed % 3 == 0 ? [Dynamic()] : []),
            Count = 1,
            Group = "g0",
            Strategies = [.. chain.Select(PlacementStrategy.Parse)],
            Constraints = [],
        };

        for (var task = 0; task < 400; task++)
        {
            var context = new PlacementContext(snapshot, request, engine.Options);
            var expected = Oracle(snapshot, context, request);
            var result = engine.Place(snapshot, request);
            if (expected < 0)
            {
                Assert.Empty(result.Placements);
                break;
            }

            Assert.Equal(snapshot.At(expected).InstanceId, Assert.Single(result.Placements).InstanceId);
            snapshot = result.Snapshot;
            if (random.Next(4) == 0)
            {
                var victim = snapshot.Instances.Where(i => i.TaskCount("g0") > 0).OrderBy(_ => random.Next()).FirstOrDefault();
                if (victim is not null)
                {
                    snapshot = snapshot.WithTaskStopped(victim.InstanceId, new TaskReservation(0, 16, [], "g0"));
                }
            }

            if (random.Next(25) == 0)
            {
                var flip = snapshot.At(random.Next(snapshot.InstanceCount));
                snapshot = snapshot.WithInstance(flip with { Status = flip.Status == InstanceStatus.Active ? InstanceStatus.Draining : InstanceStatus.Active });
            }
        }
    }

    private static ClusterSnapshot RandomCluster(Random random)
    {
        var count = random.Next(5, 120);
        var instances = new List<ContainerInstanceView>();
        for (var i = 0; i < count; i++)
        {
            var attributes = ImmutableDictionary<string, string?>.Empty
                .Add("ecs.instance-type", random.Next(4) == 0 ? "c5.large" : "m5.large");
            if (random.Next(8) != 0)
            {
                attributes = attributes.Add("berth.zone", $"z{random.Next(1, 4)}");
            }

            if (random.Next(2) == 0)
            {
                attributes = attributes.Add("rack", $"r{random.Next(5)}");
            }

            // Few distinct sizes, so that binpack ties happen and the tie-breaks are exercised.
            var cpu = random.Next(1, 5) * 1024;
            var memory = random.Next(1, 5) * 2048;
            instances.Add(new ContainerInstanceView
            {
                InstanceId = $"i-{i:D3}",
                Status = random.Next(10) == 0 ? InstanceStatus.Draining : InstanceStatus.Active,
                AgentConnected = random.Next(12) != 0,
                Attributes = attributes,
                RegisteredCpu = cpu,
                RegisteredMemory = memory,
                RemainingCpu = cpu,
                RemainingMemory = memory,
                UsedPorts = random.Next(3) == 0 ? PortSet.Of([Tcp(8000 + random.Next(3))]) : PortSet.Empty,
            });
        }

        var snapshot = ClusterSnapshot.Create("oracle", instances);
        for (var t = random.Next(0, count * 3); t > 0; t--)
        {
            var id = $"i-{random.Next(count):D3}";
            snapshot = snapshot.WithTaskStarted(id, new TaskReservation(random.Next(0, 3) * 64, random.Next(0, 3) * 128, [], $"g{random.Next(3)}"));
        }

        return snapshot;
    }

    private static int Oracle(ClusterSnapshot s, PlacementContext c, PlacementRequest request)
    {
        var statics = request.Constraints.Where(k => k.Expression is { DependsOnInstanceState: false }).Select(k => k.Expression!).ToList();
        bool PassesStatic(ContainerInstanceView v) => statics.TrueForAll(q => q.Matches(v));
        int GroupCount(ContainerInstanceView v) => request.Group is null ? v.RunningTasksCount : v.TaskCount(request.Group);
        var all = Enumerable.Range(0, s.InstanceCount).Select(s.At).ToList();
        long SpreadCount(string attribute, ContainerInstanceView v)
        {
            var value = v.Attributes.GetValueOrDefault(attribute);
            return all.Where(o => o.Status == InstanceStatus.Active && PassesStatic(o) && o.Attributes.GetValueOrDefault(attribute) == value).Sum(GroupCount);
        }

        var strategies = request.Strategies;
        var endsWithBinpack = strategies.Count > 0 && strategies[^1].Type == PlacementStrategyType.Binpack;
        List<long> Key(int position)
        {
            var v = s.At(position);
            var key = strategies.Select(st => st.Type switch
            {
                PlacementStrategyType.Binpack => st.Field == "cpu" ? v.RemainingCpu : (long)v.RemainingMemory,
                _ when st.SpreadAttribute is { } a => SpreadCount(a, v),
                _ => GroupCount(v),
            }).ToList();
            if (endsWithBinpack)
            {
                key.Add(position);
            }
            else
            {
                key.Add(-v.RemainingMemory);
                key.Add(-position);
            }

            return key;
        }

        var best = -1;
        List<long>? bestKey = null;
        for (var position = 0; position < s.InstanceCount; position++)
        {
            if (c.Check(s.At(position), position) != FitStage.Fits)
            {
                continue;
            }

            var key = Key(position);
            if (bestKey is null || Compare(key, bestKey) < 0)
            {
                best = position;
                bestKey = key;
            }
        }

        return best;
    }

    private static int Compare(List<long> a, List<long> b)
    {
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return a[i].CompareTo(b[i]);
            }
        }

        return 0;
    }
}

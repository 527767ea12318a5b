using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.V1;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// The watch stream's group-by-group delta (<see cref="SentConfiguration.ReplaceGroups"/>) against the whole diff as
/// an oracle: same changes, same configuration held afterwards, and the groups not read are the same messages.
/// </summary>
public sealed class SentConfigurationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void GroupByGroup_GivesTheWholeDiff(int seed)
    {
        var random = new Random(seed);
        var whole = Config(Enumerable.Range(0, 20).Select(i => Group(i, [.. Enumerable.Range(0, 3).Select(p => Target(8000 + p))])));
        var sent = new SentConfiguration(whole.Clone(), 1);
        var port = 9000;

        for (var version = 2; version < 300; version++)
        {
            var next = whole.Clone();
            var touched = new HashSet<int>();
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                var index = random.Next(next.TargetGroups.Count);
                touched.Add(index);
                var group = next.TargetGroups[index];
                switch (random.Next(4))
                {
                    case 0 when group.Targets.Count > 0:
                        group.Targets.RemoveAt(random.Next(group.Targets.Count));
                        break;
                    case 1 when group.Targets.Count > 0:
                        group.Targets[random.Next(group.Targets.Count)].Registration = TargetRegistration.Draining;
                        break;
                    case 2:
                        group.TargetGroup.Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = random.Next(600) };
                        break;
                    default:
                        group.Targets.Add(Target(port++));
                        break;
                }
            }

            var expected = SchedulerWireDiff(whole, next);
            var untouched = Enumerable.Range(0, next.TargetGroups.Count).Where(i => !touched.Contains(i)).Select(i => sent.Config.TargetGroups[i]).ToList();

            var changes = sent.ReplaceGroups([.. touched.Select(i => next.TargetGroups[i].Clone())], version);

            Assert.Equal(expected, changes);
            Assert.Equal(next, sent.Config);
            Assert.Equal(expected.Count > 0 ? version : sent.Version, sent.Version);
            Assert.All(Enumerable.Range(0, next.TargetGroups.Count).Where(i => !touched.Contains(i)).Zip(untouched), p => Assert.Same(p.Second, sent.Config.TargetGroups[p.First]));
            whole = next;
        }
    }

    [Fact]
    public void HoldsGroups_OnlyForGroupsItHolds()
    {
        var sent = new SentConfiguration(Config([Group(1, []), Group(2, [])]), 1);

        Assert.True(sent.HoldsGroups([Arn(1), Arn(2)]));
        Assert.False(sent.HoldsGroups([Arn(1), "arn:listener"]));
        Assert.False(sent.HoldsGroups([]));
    }

    [Fact]
    public void TaskRoutes_DiffUpsertsNewAndMovedRoutesFirst_RemovalsLast_AndReplaceRoutesKeepsTheGroups()
    {
        var groups = Config([Group(1, [Target(8000)])]);
        var before = groups.Clone();
        before.TaskRoutes.Add([Route("10.70.0.0/24", "10.0.0.1"), Route("10.70.1.0/24", "10.0.0.2"), Route("10.70.2.0/24", "10.0.0.3")]);
        var after = groups.Clone();
        after.TaskRoutes.Add([Route("10.70.0.0/24", "10.0.0.1"), Route("10.70.2.0/24", "10.0.0.9"), Route("10.70.3.0/24", "10.0.0.4")]);
        after.TargetGroups[0].Targets.Add(Target(8001));

        var diff = LoadBalancingWire.Diff(before, after);

        // The moved route (another via) and the new one come before anything else; the removal comes last.
        Assert.Equal(["10.70.2.0/24", "10.70.3.0/24"], diff.TakeWhile(c => c.ChangeCase == ConfigChange.ChangeOneofCase.TaskRouteUpserted).Select(c => c.TaskRouteUpserted.Subnet));
        Assert.Equal("10.0.0.9", diff[0].TaskRouteUpserted.Via);
        Assert.Equal(ConfigChange.ChangeOneofCase.TargetUpserted, diff[2].ChangeCase);
        Assert.Equal("10.70.1.0/24", diff[^1].TaskRouteRemoved);
        Assert.Equal(4, diff.Count);
        Assert.Empty(LoadBalancingWire.Diff(after, after.Clone()));

        // The stream's routes-only read: the same route changes, the groups held untouched, the version moved.
        var sent = new SentConfiguration(before.Clone(), 1);
        var held = sent.Config.TargetGroups[0];
        var changes = sent.ReplaceRoutes([.. after.TaskRoutes.Select(r => r.Clone())], 2);

        Assert.Equal(diff.Where(c => c.ChangeCase is ConfigChange.ChangeOneofCase.TaskRouteUpserted or ConfigChange.ChangeOneofCase.TaskRouteRemoved), changes);
        Assert.Equal(after.TaskRoutes, sent.Config.TaskRoutes);
        Assert.Same(held, sent.Config.TargetGroups[0]);
        Assert.Equal(2, sent.Version);
        Assert.Empty(sent.ReplaceRoutes([.. after.TaskRoutes], 3));
        Assert.Equal(2, sent.Version);
    }

    private static TaskRoute Route(string subnet, string via) => new() { Subnet = subnet, Via = via, ContainerInstanceId = "i-" + via };

    private static List<ConfigChange> SchedulerWireDiff(BalancerConfig before, BalancerConfig after) => LoadBalancingWire.Diff(before, after);

    private static BalancerConfig Config(IEnumerable<TargetGroupState> groups) => new()
    {
        LoadBalancer = new V1.LoadBalancer { LoadBalancerArn = "arn:lb", LoadBalancerName = "front" },
        TargetGroups = { groups },
    };

    private static string Arn(int i) => $"arn:targetgroup/g{i}";

    private static TargetGroupState Group(int i, TargetState[] targets) => new()
    {
        TargetGroup = new TargetGroup { TargetGroupArn = Arn(i), TargetGroupName = $"g{i}", Port = 80 },
        Targets = { targets },
    };

    private static TargetState Target(int port) => new()
    {
        Target = new TargetDescription { Id = "10.0.0.1", Port = port },
        Registration = TargetRegistration.Registered,
    };
}

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

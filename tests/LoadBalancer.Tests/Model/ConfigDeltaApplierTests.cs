using Berth.LoadBalancer.Model;
using Berth.Scheduler.V1;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Model;

public sealed class ConfigDeltaApplierTests
{
    private static ConfigDelta Delta(params ConfigChange[] changes) => new() { Epoch = Epoch, BaseVersion = 1, Version = 2, Changes = { changes } };

    private static ConfigChange Upsert(string group, TargetState target) => new() { TargetUpserted = new TargetChange { TargetGroupArn = GroupArn(group), Target = target } };

    private static ConfigChange Removal(string group, int port) => new() { TargetRemoved = new TargetChange { TargetGroupArn = GroupArn(group), Target = Target(port) } };

    private static int[] Ports(BalancerConfig config, string group) =>
        [.. config.TargetGroups.Single(g => g.TargetGroup.TargetGroupArn == GroupArn(group)).Targets.Select(t => t.Target.Port).Order()];

    [Fact]
    public void TargetChanges_LeaveTheServedConfigurationAsItWas()
    {
        var current = Snapshot(1, [Http(80, Forward(("a", 1), ("b", 1), ("c", 1)))], [Group("a", [1, 2]), Group("b", [3]), Group("c", [5])]).Config;
        var before = current.Clone();

        var next = ConfigDeltaApplier.Apply(current, Delta(
            Upsert("a", Target(4)),
            Removal("a", 1),
            Upsert("b", Target(3, draining: true)),
            new ConfigChange { TargetGroupUpserted = new TargetGroupState { TargetGroup = new TargetGroup(current.TargetGroups[1].TargetGroup) { Port = 81 } } }));

        Assert.Equal(before, current);
        Assert.Equal([2, 4], Ports(next, "a"));
        Assert.Equal(TargetRegistration.Draining, next.TargetGroups[1].Targets.Single().Registration);
        Assert.Equal(81, next.TargetGroups[1].TargetGroup.Port);
        // Copy on write: a group no change touched is shared, not copied.
        Assert.Same(current.TargetGroups[2], next.TargetGroups[2]);
    }

    [Fact]
    public void NewGroup_TakesTargetsLaterInTheSameDelta()
    {
        var current = Snapshot(1, [Http(80, Forward("a"))], [Group("a", [1])]).Config;

        var next = ConfigDeltaApplier.Apply(current, Delta(
            new ConfigChange { TargetGroupUpserted = Group("n", []) },
            Upsert("n", Target(7)),
            new ConfigChange { TargetGroupRemoved = GroupArn("a") },
            Upsert("n", Target(8))));

        Assert.Equal([7, 8], Ports(next, "n"));
        Assert.DoesNotContain(next.TargetGroups, g => g.TargetGroup.TargetGroupArn == GroupArn("a"));
        Assert.Equal([1], Ports(current, "a"));
    }

    [Fact]
    public void TargetOfAnUnknownGroup_IsRefusedNamingTheChange()
    {
        var current = Snapshot(1, [Http(80, Forward("a"))], [Group("a", [1])]).Config;

        var error = Assert.Throws<ConfigValidationException>(() => ConfigDeltaApplier.Apply(current, Delta(Upsert("a", Target(2)), Upsert("x", Target(3)))));

        Assert.Contains("changes[1].target_group_arn", error.Message, StringComparison.Ordinal);
        Assert.Equal([1], Ports(current, "a"));
    }
}

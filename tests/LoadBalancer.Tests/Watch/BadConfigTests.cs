using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Watch;

/// <summary>A configuration the balancer cannot honour is refused whole, with the field named, and the last good one stays.</summary>
public sealed class BadConfigTests(ITestOutputHelper output)
{
    [Fact]
    public async Task BadDeltas_AreRefusedWithTheFieldNamed_AndTheLastGoodConfigurationStays()
    {
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("t");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [target.Port])], [Rule(port, 10, Fixed("200", "ten"), Path("/ten"))]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        // A path pattern without its leading slash.
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { RuleUpserted = Rule(port, 20, Fixed("200", "x"), Path("api/*")) }));
        var refusal = await RefusalAsync(lab, 2);
        Assert.Contains("conditions[0].path_pattern.values[0]", refusal.RefusedReason, StringComparison.Ordinal);
        Assert.Contains("must start with '/'", refusal.RefusedReason, StringComparison.Ordinal);
        Assert.Equal(1, refusal.AppliedVersion);

        // A priority already used on the listener.
        var duplicate = Rule(port, 10, Fixed("200", "dup"), Path("/dup"));
        duplicate.RuleArn += "-other";
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { RuleUpserted = duplicate }));
        Assert.Contains("PriorityInUse", (await RefusalAsync(lab, 2, nth: 2)).RefusedReason, StringComparison.Ordinal);

        // A health check path without a leading slash, and a deregistration delay out of range.
        var badCheck = Group("web", [target.Port], new HealthCheck { Path = "health" });
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { TargetGroupUpserted = badCheck }));
        Assert.Contains("health_check.path", (await RefusalAsync(lab, 2, nth: 3)).RefusedReason, StringComparison.Ordinal);
        var badDelay = Group("web", [target.Port], attributes: new TargetGroupAttributes { DeregistrationDelaySeconds = 3601 });
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { TargetGroupUpserted = badDelay }));
        Assert.Contains("deregistration_delay_seconds", (await RefusalAsync(lab, 2, nth: 4)).RefusedReason, StringComparison.Ordinal);

        // A forward to a target group the configuration does not have.
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { RuleUpserted = Rule(port, 30, Forward("nowhere"), Path("/n")) }));
        Assert.Contains("TargetGroupNotFound", (await RefusalAsync(lab, 2, nth: 5)).RefusedReason, StringComparison.Ordinal);

        Assert.Equal(1, lab.Balancer.Store.Current!.Version);
        Assert.Equal("ten", await client.GetStringAsync("/ten").WithTimeout());
        Assert.Equal("t", await client.GetStringAsync("/").WithTimeout());

        // A good delta after all that is applied.
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { RuleUpserted = Rule(port, 20, Fixed("200", "twenty"), Path("/twenty")) }));
        await lab.Balancer.WaitForVersionAsync(2);
        Assert.Equal("twenty", await client.GetStringAsync("/twenty").WithTimeout());
    }

    [Fact]
    public async Task DeltaThatDoesNotFollow_MakesTheBalancerResyncFromASnapshot()
    {
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("t");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [target.Port])]));

        lab.Scheduler.Snapshot = Snapshot(9, [Http(port, Fixed("200", "nine"))], []);
        await lab.Scheduler.PushAsync(Delta(5, 6, Register("web", target.Port)));

        await lab.Balancer.WaitForVersionAsync(9);
        using var client = Lab.Client(port);
        Assert.Equal("nine", await client.GetStringAsync("/").WithTimeout());
        Assert.True(lab.Scheduler.StreamsOpened >= 2);
    }

    private static async Task<ConfigAck> RefusalAsync(Lab lab, long version, int nth = 1)
    {
        await lab.Scheduler.WaitForAsync(s => s.Messages(m => m.Ack).Count(a => a.RefusedVersion == version) >= nth, $"refusal {nth} of version {version}");
        return lab.Scheduler.Messages(m => m.Ack).Where(a => a.RefusedVersion == version).ElementAt(nth - 1);
    }
}

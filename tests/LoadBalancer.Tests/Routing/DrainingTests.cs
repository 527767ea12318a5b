using System.Net;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Routing;

/// <summary>A draining target gets no new requests; what is in flight on it finishes, and the scheduler hears the count.</summary>
public sealed class DrainingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DrainingTarget_FinishesInFlightRequests_TakesNoNewOnes_AndReportsTheCount()
    {
        var port = TestPorts.Next();
        await using var old = await TargetServer.StartAsync("old");
        await using var next = await TargetServer.StartAsync("next");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [old.Port])]));
        using var client = Lab.Client(port);
        using var slowClient = Lab.Client(port);

        var slow = slowClient.GetStringAsync("/slow");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(old.SlowInFlight == 1), TimeSpan.FromSeconds(60), "the slow request to reach the old target");

        // The scheduler registers the new task's target and deregisters the old one (draining).
        await lab.Scheduler.PushAsync(Delta(1, 2, Register("web", next.Port), Drain("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(2);
        await lab.Scheduler.WaitForAsync(
            s => s.Messages(m => m.InFlight).SelectMany(r => r.Targets).Any(t => t.Target.Port == old.Port && t.Requests == 1),
            "one request in flight on the draining target");

        var hitsBefore = old.Hits;
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("next", await client.GetStringAsync("/").WithTimeout());
        }

        Assert.Equal(hitsBefore, old.Hits);
        Assert.False(slow.IsCompleted);

        old.ReleaseSlow();
        Assert.Equal("old slow", await slow.WithTimeout());
        await lab.Scheduler.WaitForAsync(
            s => s.Messages(m => m.InFlight).SelectMany(r => r.Targets).Any(t => t.Target.Port == old.Port && t.Requests == 0 && t.Connections == 0),
            "the draining target reported done (0 in flight)");

        // Draining over: the scheduler removes the target; requests keep flowing to the new one.
        await lab.Scheduler.PushAsync(Delta(2, 3, Deregistered("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(3);
        Assert.Null(lab.Balancer.Health.Find(GroupArn("web"), $"127.0.0.1:{old.Port}"));
        using var after = await client.GetAsync("/").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("next", await after.Content.ReadAsStringAsync());
    }
}

using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Watch;

/// <summary>Without its scheduler a balancer serves what it last had, across its own restart too, and catches up on reconnect.</summary>
public sealed class FailStaticTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SchedulerDown_KeepsServing_ThenCatchesUpFromASnapshotOnReconnect()
    {
        var port = TestPorts.Next();
        await using var a = await TargetServer.StartAsync("a");
        await using var b = await TargetServer.StartAsync("b");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [a.Port])]));
        using var client = Lab.Client(port);
        Assert.Equal("a", await client.GetStringAsync("/").WithTimeout());

        await lab.Scheduler.StopAsync();
        await WaitConnectedAsync(lab, false);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("a", await client.GetStringAsync("/").WithTimeout());
        }

        // The scheduler comes back (a restart: new epoch) with a configuration changed meanwhile.
        lab.Scheduler.Snapshot = Snapshot(7, [Http(port, Forward("web"))], [Group("web", [b.Port])]);
        lab.Scheduler.Snapshot.Epoch = "epoch-2";
        await lab.Scheduler.StartAsync();
        await lab.Balancer.WaitForVersionAsync(7);
        Assert.Equal("epoch-2", lab.Balancer.Store.Current!.Epoch);
        Assert.Equal("b", await client.GetStringAsync("/").WithTimeout());
        var hello = lab.Scheduler.Messages(m => m.Hello).Last();
        Assert.Equal("epoch-1", hello.HaveEpoch);
        Assert.Equal(1, hello.HaveVersion);
    }

    [Fact]
    public async Task BalancerRestartedWhileTheSchedulerIsDown_ServesTheCachedConfiguration()
    {
        var port = TestPorts.Next();
        await using var a = await TargetServer.StartAsync("a");
        await using var lab = await Lab.StartAsync(output, Snapshot(3, [Http(port, Forward("web"))], [Group("web", [a.Port])]));
        using (var client = Lab.Client(port))
        {
            Assert.Equal("a", await client.GetStringAsync("/").WithTimeout());
        }

        await lab.Scheduler.StopAsync();
        await lab.Balancer.DisposeAsync();
        await BalancerHost.WaitForPortAsync(port, open: false);

        await lab.StartBalancerAsync();
        Assert.Equal(3, lab.Balancer.Store.Current?.Version);
        await BalancerHost.WaitForPortAsync(port);
        using var again = Lab.Client(port);
        Assert.Equal("a", await again.GetStringAsync("/").WithTimeout());
        Assert.False(lab.Balancer.Watch.Connected);
    }

    private static async Task WaitConnectedAsync(Lab lab, bool connected)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var next = lab.Balancer.Watch.ConnectionChanged.Next;
            if (lab.Balancer.Watch.Connected == connected)
            {
                return;
            }

            await next.WaitAsync(cts.Token);
        }
    }
}

using System.Net;
using System.Net.Sockets;
using Berth.Agent.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Agent.Tests.Sessions;

/// <summary>The reconnect wait: cut short when the scheduler's port opens, never when it was open all along.</summary>
public sealed class ReconnectWaiterTests
{
    private readonly FakeTimeProvider _time = new();
    private int _probes;

    [Fact]
    public async Task PortOpeningDuringALongStep_EndsTheWaitWithinTwoSeconds()
    {
        var opensAt = _time.GetUtcNow() + TimeSpan.FromSeconds(30);
        var waiter = new ReconnectWaiter(_ => Probe(_time.GetUtcNow() >= opensAt), _time, new Random(1));

        var (early, waited) = await RunAsync(waiter, TimeSpan.FromMinutes(2));

        Assert.True(early);
        Assert.InRange(waited, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(32));
        Assert.InRange(_probes, 30, 32);
    }

    [Fact]
    public async Task PortOpenFromTheStart_WaitsTheWholeStep_WithOneProbe()
    {
        var waiter = new ReconnectWaiter(_ => Probe(true), _time, new Random(1));

        var (early, waited) = await RunAsync(waiter, TimeSpan.FromSeconds(40));

        Assert.False(early);
        Assert.InRange(waited, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(40.3));
        Assert.Equal(1, _probes);
    }

    [Fact]
    public async Task PortClosedThroughout_WaitsTheWholeStep_ProbingOncePerSecond()
    {
        var waiter = new ReconnectWaiter(_ => Probe(false), _time, new Random(1));

        var (early, waited) = await RunAsync(waiter, TimeSpan.FromSeconds(20));

        Assert.False(early);
        Assert.InRange(waited, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20.3));
        Assert.InRange(_probes, 19, 21);
    }

    [Fact]
    public async Task ShortSteps_AreNotProbed()
    {
        var waiter = new ReconnectWaiter(_ => Probe(true), _time, new Random(1));

        var (early, waited) = await RunAsync(waiter, TimeSpan.FromMilliseconds(500));

        Assert.False(early);
        Assert.Equal(0, _probes);
        Assert.InRange(waited, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    public async Task TcpProbe_SeesAListenerAndItsAbsence()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Assert.True(await ReconnectWaiter.TcpProbeAsync("127.0.0.1", port, CancellationToken.None));
        listener.Stop();
        Assert.False(await ReconnectWaiter.TcpProbeAsync("127.0.0.1", port, CancellationToken.None));
    }

    private Task<bool> Probe(bool open)
    {
        Interlocked.Increment(ref _probes);
        return Task.FromResult(open);
    }

    // Drives the fake clock in 100 ms steps until the wait ends; returns whether it ended early and the time it took (a
    // step may land before the waiter registered its next timer, hence the ranges of up to a few steps).
    private async Task<(bool Early, TimeSpan Waited)> RunAsync(ReconnectWaiter waiter, TimeSpan step)
    {
        var start = _time.GetUtcNow();
        var wait = waiter.WaitAsync(step, CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!wait.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the wait did not end");
            await Task.Delay(1);
            if (!wait.IsCompleted)
            {
                _time.Advance(TimeSpan.FromMilliseconds(100));
            }
        }

        return (await wait, _time.GetUtcNow() - start);
    }
}

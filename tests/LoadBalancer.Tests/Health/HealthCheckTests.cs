using System.Net;
using System.Net.Sockets;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;
using TargetState = Berth.LoadBalancer.Health.TargetState;

namespace Berth.LoadBalancer.Tests.Health;

/// <summary>ELB's health state machine against real targets, on a fake clock (ELB's defaults: 30 s, 5 s, 5 up, 2 down).</summary>
public sealed class HealthCheckTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task NewTarget_IsInitialUntilFiveChecksPass_ThenHealthy_AndTwoMismatchesMakeItUnhealthy()
    {
        var time = new FakeTimeProvider();
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("a");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [target.Port], new HealthCheck { Path = "/health" })], reportIntervalMs: 3_600_000);
        await using var lab = await Lab.StartAsync(output, snapshot, time);
        var key = $"127.0.0.1:{target.Port}";

        for (var check = 1; check <= 4; check++)
        {
            await CheckedAsync(lab, key, check, time);
            Assert.Equal(TargetState.Initial, State(lab, key).State);
            Assert.Equal(ReasonCodes.InitialHealthChecking, State(lab, key).Reason);
        }

        await CheckedAsync(lab, key, 5, time);
        Assert.Equal(TargetState.Healthy, State(lab, key).State);
        Assert.Equal("", State(lab, key).Reason);
        await lab.Scheduler.WaitForAsync(s => Observations(s, key).Any(o => o.Health.State == TargetHealthState.Healthy), "a healthy observation");

        target.HealthStatus = 503;
        await CheckedAsync(lab, key, 6, time);
        Assert.Equal(TargetState.Healthy, State(lab, key).State);
        await CheckedAsync(lab, key, 7, time);
        Assert.Equal(TargetState.Unhealthy, State(lab, key).State);
        Assert.Equal(ReasonCodes.ResponseCodeMismatch, State(lab, key).Reason);
        Assert.Equal("Health checks failed with these codes: [503]", State(lab, key).Description);
        await lab.Scheduler.WaitForAsync(
            s => Observations(s, key).Any(o => o.Health.State == TargetHealthState.Unhealthy && o.Health.Reason == "Target.ResponseCodeMismatch"),
            "an unhealthy observation with Target.ResponseCodeMismatch");

        // Back: five consecutive successes again, not one.
        target.HealthStatus = 200;
        for (var check = 8; check <= 11; check++)
        {
            await CheckedAsync(lab, key, check, time);
            Assert.Equal(TargetState.Unhealthy, State(lab, key).State);
        }

        await CheckedAsync(lab, key, 12, time);
        Assert.Equal(TargetState.Healthy, State(lab, key).State);
    }

    [Fact]
    public async Task SilentTarget_FailsWithTargetTimeout_AfterTheTimeout()
    {
        var time = new FakeTimeProvider();
        var port = TestPorts.Next();
        // Accepts connections and never answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = new List<Socket>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    accepted.Add(await silent.AcceptSocketAsync());
                }
                catch (Exception)
                {
                    return;
                }
            }
        });
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [silentPort], new HealthCheck { Path = "/health" })], reportIntervalMs: 3_600_000);
        await using var lab = await Lab.StartAsync(output, snapshot, time);
        var key = $"127.0.0.1:{silentPort}";

        // Check 1 is under way; 4.9 s later it is still, at 5 s it times out.
        await lab.Balancer.WaitForHealthAsync(h => h.Find(GroupArn("web"), key)?.ChecksStarted == 1, "check 1 to start");
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0, lab.Balancer.Health.Find(GroupArn("web"), key)!.ChecksCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1));
        await lab.Balancer.WaitForHealthAsync(h => h.Find(GroupArn("web"), key)?.ChecksCompleted == 1, "check 1 to time out");
        Assert.Equal(TargetState.Initial, State(lab, key).State);

        time.Advance(s_interval - TimeSpan.FromSeconds(5));
        await lab.Balancer.WaitForHealthAsync(h => h.Find(GroupArn("web"), key)?.ChecksStarted == 2, "check 2 to start");
        time.Advance(TimeSpan.FromSeconds(5));
        await lab.Balancer.WaitForHealthAsync(h => h.Find(GroupArn("web"), key)?.ChecksCompleted == 2, "check 2 to time out");

        Assert.Equal(TargetState.Unhealthy, State(lab, key).State);
        Assert.Equal(ReasonCodes.Timeout, State(lab, key).Reason);
        Assert.Equal("Request timed out", State(lab, key).Description);
        silent.Stop();
        accepted.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task RefusedConnection_FailsWithFailedHealthChecks_AndHealthyTargetsTakeTheTraffic()
    {
        var time = new FakeTimeProvider();
        var port = TestPorts.Next();
        var closedPort = TestPorts.Next();
        await using var alive = await TargetServer.StartAsync("alive");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))],
            [Group("web", [alive.Port, closedPort], new HealthCheck { Path = "/health", HealthyThresholdCount = 2 })], reportIntervalMs: 3_600_000);
        await using var lab = await Lab.StartAsync(output, snapshot, time);
        var dead = $"127.0.0.1:{closedPort}";
        var live = $"127.0.0.1:{alive.Port}";

        await CheckedAsync(lab, live, 1, time, also: dead);
        await CheckedAsync(lab, live, 2, time, also: dead);

        Assert.Equal(TargetState.Healthy, State(lab, live).State);
        Assert.Equal(TargetState.Unhealthy, State(lab, dead).State);
        Assert.Equal(ReasonCodes.FailedHealthChecks, State(lab, dead).Reason);
        using var client = Lab.Client(port);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("alive", await client.GetStringAsync("/").WithTimeout());
        }
    }

    /// <summary>Waits until check <paramref name="number"/> of <paramref name="key"/> (and of <paramref name="also"/>) ended, advancing the clock by an interval between checks.</summary>
    private static async Task CheckedAsync(Lab lab, string key, int number, FakeTimeProvider time, string? also = null)
    {
        if (number > 1)
        {
            // Each loop armed its next check before finishing the last one, so one interval runs it.
            time.Advance(s_interval);
        }

        await lab.Balancer.WaitForHealthAsync(
            h => h.Find(GroupArn("web"), key)?.ChecksCompleted >= number && (also is null || h.Find(GroupArn("web"), also)?.ChecksCompleted >= number),
            $"check {number} of {key}");
    }

    private static HealthSnapshot State(Lab lab, string key) => lab.Balancer.Health.Find(GroupArn("web"), key)!.Current;

    private static IEnumerable<TargetHealthObservation> Observations(FakeScheduler scheduler, string key) =>
        scheduler.Messages(m => m.Health).SelectMany(h => h.Observations).Where(o => $"{o.Target.Id}:{o.Target.Port}" == key);
}

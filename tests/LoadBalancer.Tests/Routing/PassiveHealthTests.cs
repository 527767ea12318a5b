using System.Net;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;
using TargetState = Berth.LoadBalancer.Health.TargetState;

namespace Berth.LoadBalancer.Tests.Routing;

/// <summary>
/// A refused connection, or one the target drops before answering, ejects the target at once; GET and HEAD are
/// retried once elsewhere (a dropped one on the same target when the group has no other), nothing else is.
/// </summary>
public sealed class PassiveHealthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RefusedConnection_EjectsTheTarget_AndGetsAreRetriedElsewhere()
    {
        var port = TestPorts.Next();
        var closed = TestPorts.Next();
        await using var alive = await TargetServer.StartAsync("alive");
        // Health checks off: nothing but the failed connection can take the dead target out.
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [closed, alive.Port])]));
        using var client = Lab.Client(port);

        for (var i = 0; i < 6; i++)
        {
            using var response = await client.GetAsync($"/{i}").WithTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("alive", await response.Content.ReadAsStringAsync());
        }

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/")).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        var dead = lab.Balancer.Health.Find(GroupArn("web"), $"127.0.0.1:{closed}")!.Current;
        Assert.Equal(TargetState.Unhealthy, dead.State);
        Assert.Equal(ReasonCodes.FailedHealthChecks, dead.Reason);
        await lab.Scheduler.WaitForAsync(
            s => s.Messages(m => m.Health).SelectMany(h => h.Observations)
                .Any(o => o.Target.Port == closed && o.Health.State == TargetHealthState.Unhealthy && o.Health.Reason == "Target.FailedHealthChecks"),
            "the ejection reported as unhealthy");
    }

    [Fact]
    public async Task ConnectionClosedWithoutAResponse_EjectsTheTarget_AndGetsAreRetriedElsewhere()
    {
        var port = TestPorts.Next();
        await using var alive = await TargetServer.StartAsync("alive");
        await using var dropping = DroppingTarget.Start();
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [dropping.Port, alive.Port])]));
        using var client = Lab.Client(port);

        for (var i = 0; i < 6; i++)
        {
            using var response = await client.GetAsync($"/{i}").WithTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("alive", await response.Content.ReadAsStringAsync());
        }

        // Round robin sent the dropping target one of the first two GETs (SocketsHttpHandler itself tries a connection
        // closed before any response byte a few times over); the target was ejected and the GET answered elsewhere.
        Assert.True(dropping.Dropped > 0);
        Assert.Equal(6, alive.Hits);
        Assert.Equal(TargetState.Unhealthy, lab.Balancer.Health.Find(GroupArn("web"), $"127.0.0.1:{dropping.Port}")!.Current.State);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DroppedConnection_ToTheOnlyTarget_IsRetriedOnIt_OnBothPaths(bool fastPath)
    {
        // The only target of its group drops its first connection unanswered (as gVisor made busybox httpd do under
        // load) and answers the next: with no other target to go to, the GET goes to it again on a new connection. The
        // relay does that itself; on YARP's path SocketsHttpHandler does, before YARP sees an error.
        await using var flaky = DroppingTarget.Start(drops: 1);
        await using var balancer = await BalancerForAsync(flaky, fastPath);

        using var response = await balancer.GetAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, flaky.Dropped);
        Assert.Equal(1, flaky.Answered);
        // The relay ejects it all the same (with every target out, ELB's fail-open routes to them all, so it goes on
        // serving); YARP's path never saw the failure.
        var state = balancer.Lab.Balancer.Health.Find(GroupArn("web"), $"127.0.0.1:{flaky.Port}")!.Current.State;
        Assert.Equal(fastPath ? TargetState.Unhealthy : TargetState.Unavailable, state);
        Assert.Equal(fastPath ? 1 : 0, balancer.Lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task DroppedConnections_AreRetriedUpToThreeTimes_ByTheRelay()
    {
        // Three drops in a row (a loaded CI run with gVisor targets saw all three of a group's targets drop within 2 s),
        // then an answer: the relay's three retries reach it; one more drop would be a 502.
        await using var flaky = DroppingTarget.Start(drops: 3);
        await using var balancer = await BalancerForAsync(flaky, fastPath: true);
        using var answered = await balancer.GetAsync();
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal((3, 1), (flaky.Dropped, flaky.Answered));

        await using var worse = DroppingTarget.Start(drops: 4);
        await using var worseBalancer = await BalancerForAsync(worse, fastPath: true);
        using var failed = await worseBalancer.GetAsync();
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Equal((4, 0), (worse.Dropped, worse.Answered));
    }

    [Fact]
    public async Task RefusedConnection_OnAPost_IsNotRetried()
    {
        var port = TestPorts.Next();
        var closed = TestPorts.Next();
        await using var alive = await TargetServer.StartAsync("alive");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [closed, alive.Port])]));
        using var client = Lab.Client(port);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.PostAsync("/", new StringContent("x")).WithTimeout();
            statuses.Add(response.StatusCode);
        }

        // Round robin sends one of the first two to the dead target: that one fails (502), the ejection spares the rest.
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.BadGateway));
        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(3, alive.Hits);
    }

    // A balancer with one listener that forwards to a group of just this target.
    private async Task<FrontedTarget> BalancerForAsync(DroppingTarget target, bool fastPath)
    {
        var port = TestPorts.Next();
        return new(await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [target.Port])]), fastPath: fastPath), port);
    }

    private sealed record FrontedTarget(Lab Lab, int Port) : IAsyncDisposable
    {
        /// <summary>A GET of <c>/</c> through the balancer, on a connection of its own (the body read in full).</summary>
        public async Task<HttpResponseMessage> GetAsync()
        {
            using var client = Lab.Client(Port);
            return await client.GetAsync("/").WithTimeout();
        }

        public ValueTask DisposeAsync() => Lab.DisposeAsync();
    }

    /// <summary>
    /// A target that accepts each connection, reads the request head and closes without a byte of response; with
    /// <c>drops</c>, only its first connections so, answering the later ones (200, <c>answered</c>, then closing).
    /// </summary>
    private sealed class DroppingTarget : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _drops;
        private readonly Task _accepting;
        private int _dropped;
        private int _answered;

        private DroppingTarget(int drops)
        {
            _drops = drops;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Dropped => Volatile.Read(ref _dropped);

        public int Answered => Volatile.Read(ref _answered);

        public static DroppingTarget Start(int drops = int.MaxValue) => new(drops);

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                using var connection = await _listener.AcceptTcpClientAsync();
                var stream = connection.GetStream();
                var head = new List<byte>();
                var buffer = new byte[1024];
                while (!EndsWithBlankLine(head))
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                    {
                        break;
                    }

                    head.AddRange(buffer.AsSpan(0, read));
                }

                if (Dropped < _drops)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nanswered"u8.ToArray());
                Interlocked.Increment(ref _answered);
            }
        }

        private static bool EndsWithBlankLine(List<byte> head) =>
            head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n';
    }
}

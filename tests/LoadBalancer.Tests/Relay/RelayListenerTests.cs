using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Relay;

/// <summary>
/// The relay's own listener (<c>Relay/RelayListener</c>): a connection it relays goes to Kestrel with the bytes the
/// relay already read, and a listener that goes away (configuration change, shutdown) closes relayed connections
/// between requests but lets an exchange in flight finish.
/// </summary>
public sealed class RelayListenerTests(ITestOutputHelper output)
{
    private const string Relayed = "GET /len HTTP/1.1\r\nHost: example.com\r\n\r\n";

    // TE is a request the relay hands to Kestrel (docs/load-balancer.md, "The HTTP/1.1 relay").
    private const string HandedOver = "GET /len HTTP/1.1\r\nHost: example.com\r\nTE: trailers\r\n\r\n";

    [Fact]
    public async Task HandOver_AfterRelayedRequests_WithBytesAlreadyRead_GetsTheSameAnswersAsYarpsPath()
    {
        await using var target = RawTarget.Start();
        var answers = new Dictionary<bool, List<RawResponse>>();
        foreach (var fastPath in new[] { true, false })
        {
            var port = TestPorts.Next();
            await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("raw"))], [Group("raw", [target.Port])]), fastPath: fastPath);
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
            var reader = new RawResponse.Reader(socket);
            var responses = new List<RawResponse>();

            // Two relayed requests and the first half of one the relay does not serve in one send: the relay reads
            // that half with the second request, then the rest; Kestrel must see the whole request, and the one after.
            var split = HandedOver.Length / 2;
            await socket.SendAsync(Encoding.ASCII.GetBytes(Relayed + Relayed + HandedOver[..split]), SocketFlags.None).WithTimeout();
            responses.Add(await RawResponse.ReadAsync(reader).WithTimeout());
            responses.Add(await RawResponse.ReadAsync(reader).WithTimeout());
            await socket.SendAsync(Encoding.ASCII.GetBytes(HandedOver[split..] + Relayed), SocketFlags.None).WithTimeout();
            responses.Add(await RawResponse.ReadAsync(reader).WithTimeout());
            responses.Add(await RawResponse.ReadAsync(reader).WithTimeout());

            answers[fastPath] = responses;
            Assert.Equal(fastPath ? 2 : 0, lab.Balancer.Relay.Relayed);
        }

        for (var i = 0; i < answers[true].Count; i++)
        {
            output.WriteLine(answers[true][i].Normalized);
            Assert.Equal(answers[false][i].Normalized, answers[true][i].Normalized);
        }

        Assert.All(answers[true], r => Assert.Equal("hello", Encoding.ASCII.GetString(r.Body)));
    }

    [Fact]
    public async Task RemovedListener_ClosesAnIdleRelayedConnection()
    {
        var port = TestPorts.Next();
        var other = TestPorts.Next();
        await using var target = RawTarget.Start();
        await using var lab = await Lab.StartAsync(
            output, Snapshot(1, [Http(port, Forward("raw")), Http(other, Forward("raw"))], [Group("raw", [target.Port])]), fastPath: true);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        var reader = new RawResponse.Reader(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes(Relayed), SocketFlags.None).WithTimeout();
        Assert.Equal("hello", Encoding.ASCII.GetString((await RawResponse.ReadAsync(reader).WithTimeout()).Body));
        Assert.Equal(1, lab.Balancer.Relay.Relayed);

        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { ListenerRemoved = ListenerArn(port) }));
        await lab.Balancer.WaitForVersionAsync(2);
        await BalancerHost.WaitForPortAsync(port, open: false);

        // Idle between requests, the relayed connection closes with its listener (not at the keep-alive timeout),
        // and the other listener still serves.
        Assert.True(await reader.ClosedAsync().WithTimeout());
        var answer = (await RawResponse.ExchangeAsync(other, Relayed))[0];
        Assert.Equal("hello", Encoding.ASCII.GetString(answer.Body));
        Assert.Equal(2, lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task Shutdown_LetsTheRelayedExchangeInFlightFinish()
    {
        var port = TestPorts.Next();
        await using var slow = await TargetServer.StartAsync("slow");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [slow.Port])]), fastPath: true);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        var reader = new RawResponse.Reader(socket);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n"), SocketFlags.None).WithTimeout();
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(slow.SlowInFlight == 1), TimeSpan.FromSeconds(60), "the slow request to reach the target");

        var stopping = lab.Balancer.StopAsync();
        await BalancerHost.WaitForPortAsync(port, open: false);
        slow.ReleaseSlow();

        var answer = await RawResponse.ReadAsync(reader).WithTimeout();
        Assert.Equal("slow slow", Encoding.ASCII.GetString(answer.Body));
        Assert.True(await reader.ClosedAsync().WithTimeout());
        await stopping.WithTimeout();
        Assert.Equal(1, lab.Balancer.Relay.Relayed);
    }
}

using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;
using TargetState = Berth.LoadBalancer.Health.TargetState;

namespace Berth.LoadBalancer.Tests.Relay;

/// <summary>
/// The HTTP/1.1 relay (<c>Balancer:FastPath</c>) answers what it serves as YARP's path does, and hands everything else
/// to YARP's path. Each comparison runs the same requests through a balancer with the relay and one without, and checks
/// that the relay served them (a relay that handed everything over would pass the comparisons alone).
/// </summary>
public sealed class Http1RelayTests(ITestOutputHelper output)
{
    private static readonly string[] s_exchanges =
    [
        "GET /len HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "HEAD /len HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /chunked HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
        "GET /trailers HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /204 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /304 HTTP/1.1\r\nHost: example.com\r\nIf-None-Match: \"v1\"\r\n\r\n",
        "GET /early HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /reason HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "POST /body?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
        "PUT /body HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n",
        "GET /close HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /len HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n",
    ];

    [Fact]
    public async Task EveryFraming_GetsTheSameAnswer_OnTheRelayAndOnYarpsPath()
    {
        await using var target = RawTarget.Start();
        await using var relay = await StartAsync(target.Port, fastPath: true);
        await using var yarp = await StartAsync(target.Port, fastPath: false);

        var relayed = await RawResponse.ExchangeAsync(relay.Port, s_exchanges);
        var proxied = await RawResponse.ExchangeAsync(yarp.Port, s_exchanges);

        for (var i = 0; i < s_exchanges.Length; i++)
        {
            output.WriteLine($"{s_exchanges[i].Split("\r\n")[0]}\n{relayed[i].Normalized}\n");
            Assert.Equal(proxied[i].Normalized, relayed[i].Normalized);
        }

        Assert.Equal("hello", Encoding.ASCII.GetString(relayed[0].Body));
        Assert.Equal("hello world", Encoding.ASCII.GetString(relayed[2].Body));
        Assert.Equal("until close", Encoding.ASCII.GetString(relayed[10].Body));
        Assert.Equal(RawTarget.Date, relayed[0].Field("Date"));
        Assert.Null(relayed[0].Field("Keep-Alive"));
        Assert.Equal(s_exchanges.Length, relay.Lab.Balancer.Relay.Relayed);
        Assert.Equal(0, yarp.Lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task ForwardedRequest_CarriesElbsHeaders_AndNoHopByHopOnes_OnBothPaths()
    {
        await using var target = RawTarget.Start();
        await using var relay = await StartAsync(target.Port, fastPath: true);
        await using var yarp = await StartAsync(target.Port, fastPath: false);
        const string Request = "GET /head?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
            + "X-Forwarded-Port: 1\r\nKeep-Alive: timeout=1\r\nProxy-Connection: keep-alive\r\nX-Other: v\r\nCookie: a=1; b=2\r\n\r\n";

        foreach (var lab in new[] { relay, yarp })
        {
            var answer = (await RawResponse.ExchangeAsync(lab.Port, Request))[0];
            var lines = Encoding.ASCII.GetString(answer.Body).Split("\r\n");
            output.WriteLine(string.Join('\n', lines));
            string? Field(string name) => lines.Skip(1).Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)).Select(l => l[(name.Length + 1)..].Trim()).SingleOrDefault();

            Assert.Equal("GET /head?q=1 HTTP/1.1", lines[0]);
            // The client's Host reaches the target, as ALB passes it.
            Assert.Equal("example.com", Field("Host"));
            Assert.Equal("203.0.113.9, 127.0.0.1", Field("X-Forwarded-For"));
            Assert.Equal("http", Field("X-Forwarded-Proto"));
            Assert.Equal(lab.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Field("X-Forwarded-Port"));
            Assert.Equal("v", Field("X-Other"));
            Assert.Equal("a=1; b=2", Field("Cookie"));
            Assert.Null(Field("Keep-Alive"));
            Assert.Null(Field("Proxy-Connection"));
            Assert.Null(Field("Connection"));
        }

        Assert.Equal(1, relay.Lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task Rules_RouteTheSame_OnTheRelayAndOnYarpsPath()
    {
        await using var api = await TargetServer.StartAsync("api");
        await using var img = await TargetServer.StartAsync("img");
        await using var web = await TargetServer.StartAsync("web");
        await using var beta = await TargetServer.StartAsync("beta");
        var cases = new (string Path, string? Host, (string, string)? Header, string Method, string Expected)[]
        {
            ("/api/users", null, null, "GET", "api"),
            ("/api/users", null, ("X-Beta", "YES"), "GET", "beta"),
            ("/api/users", null, ("X-Beta", "no"), "GET", "api"),
            ("/img/cat.png", null, null, "GET", "img"),
            ("/img/cat.jpg", null, null, "GET", "web"),
            ("/API/users", null, null, "GET", "web"),
            ("/?version=2", null, null, "GET", "beta"),
            ("/?version=%32", null, null, "GET", "beta"),
            ("/?a=1&Version=2", null, null, "GET", "beta"),
            ("/?version=3", null, null, "GET", "web"),
            ("/?name=a+b", null, null, "GET", "api"),
            ("/", "shop.example.com:8080", null, "GET", "img"),
            ("/", "db.internal.example", null, "GET", "404 no such host"),
            ("/anything", null, null, "DELETE", "405 read only"),
            ("/anything", null, null, "PATCH", "web"),
            // Percent-encoded paths go to YARP's path (Kestrel decodes them before routing), with the same result.
            ("/img/a%20b.png", null, null, "GET", "img"),
        };
        var answers = new Dictionary<bool, List<string>>();
        var relayed = 0L;
        foreach (var fastPath in new[] { true, false })
        {
            var port = TestPorts.Next();
            var snapshot = Snapshot(1,
                [Http(port, Forward("web"))],
                [Group("api", [api.Port]), Group("img", [img.Port]), Group("web", [web.Port]), Group("beta", [beta.Port])],
                [
                    Rule(port, 10, Forward("api"), Path("/api/*")),
                    Rule(port, 5, Forward("beta"), Path("/api/*"), Header("X-Beta", "y*s")),
                    Rule(port, 20, Forward("img"), Path("/img/*.png", "/img/*.gif")),
                    Rule(port, 25, Forward("img"), Host("shop.example.com")),
                    Rule(port, 30, Fixed("404", "no such host"), Host("*.internal.example")),
                    Rule(port, 40, Forward("beta"), Query("version", "2")),
                    Rule(port, 45, Forward("api"), Query("name", "a b")),
                    Rule(port, 50, Fixed("405", "read only"), Method("DELETE")),
                ]);
            await using var lab = await Lab.StartAsync(output, snapshot, fastPath: fastPath);
            answers[fastPath] = [];
            foreach (var (path, host, header, method, _) in cases)
            {
                // A client each: after a request YARP's path serves, the rest of its connection stays there.
                using var client = Lab.Client(port);
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (host is not null)
                {
                    request.Headers.Host = host;
                }

                if (header is var (name, value))
                {
                    request.Headers.Add(name, value);
                }

                using var response = await client.SendAsync(request).WithTimeout();
                var body = await response.Content.ReadAsStringAsync();
                answers[fastPath].Add(response.StatusCode == HttpStatusCode.OK ? body : $"{(int)response.StatusCode} {body}");
            }

            relayed = fastPath ? lab.Balancer.Relay.Relayed : relayed;
        }

        Assert.Equal(cases.Select(c => c.Expected), answers[false]);
        Assert.Equal(answers[false], answers[true]);
        // All but the fixed responses and the encoded path.
        Assert.Equal(cases.Length - 3, relayed);
    }

    [Fact]
    public async Task WebSocket_OnAConnectionTheRelayBegan_IsHandedToYarp()
    {
        var port = TestPorts.Next();
        await using var web = await TargetServer.StartAsync("web");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [web.Port])]), fastPath: true);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        var reader = new RawResponse.Reader(socket);

        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /first HTTP/1.1\r\nHost: example.com\r\n\r\n"), SocketFlags.None);
        var first = await RawResponse.ReadAsync(reader).WithTimeout();
        Assert.Equal("web", Encoding.ASCII.GetString(first.Body));
        Assert.Equal(1, lab.Balancer.Relay.Relayed);

        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"GET /ws HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"), SocketFlags.None);
        var upgrade = await RawResponse.ReadAsync(reader).WithTimeout();
        Assert.StartsWith("HTTP/1.1 101", upgrade.StatusLine, StringComparison.Ordinal);

        using var websocket = WebSocket.CreateFromStream(new NetworkStream(socket), new WebSocketCreationOptions { IsServer = false });
        await websocket.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        var buffer = new byte[64];
        var received = await websocket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
        Assert.Equal("web:hi", Encoding.UTF8.GetString(buffer, 0, received.Count));
        Assert.Equal(1, lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task ConnectionClose_FromTheClient_IsAnsweredAndTheConnectionEnds()
    {
        await using var target = RawTarget.Start();
        await using var relay = await StartAsync(target.Port, fastPath: true);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, relay.Port).WithTimeout();
        var reader = new RawResponse.Reader(socket);

        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /len HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"), SocketFlags.None);
        var answer = await RawResponse.ReadAsync(reader).WithTimeout();

        Assert.Equal("close", answer.Field("Connection"));
        Assert.Equal("hello", Encoding.ASCII.GetString(answer.Body));
        Assert.True(await reader.ClosedAsync().WithTimeout());
        Assert.Equal(1, relay.Lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task LargeBodies_PassBothWays()
    {
        await using var target = RawTarget.Start();
        await using var relay = await StartAsync(target.Port, fastPath: true);
        using var client = Lab.Client(relay.Port);
        var payload = new byte[3 * 1024 * 1024 + 17];
        new Random(16).NextBytes(payload);

        using var response = await client.PostAsync("/body", new ByteArrayContent(payload)).WithTimeout();
        var echoed = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(payload, echoed);
        Assert.Equal(1, relay.Lab.Balancer.Relay.Relayed);
    }

    [Fact]
    public async Task RefusedTarget_IsEjected_AndTheGetRetriedOnAnother_ByTheRelay()
    {
        var port = TestPorts.Next();
        var closed = TestPorts.Next();
        await using var alive = await TargetServer.StartAsync("alive");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [closed, alive.Port])]), fastPath: true);

        for (var i = 0; i < 4; i++)
        {
            using var client = Lab.Client(port);
            Assert.Equal("alive", await client.GetStringAsync($"/{i}").WithTimeout());
        }

        // Said before asserting: this test failed once under a loaded full run, and the assertion alone did not say which.
        var ejected = lab.Balancer.Health.Find(GroupArn("web"), $"127.0.0.1:{closed}")!.Current;
        output.WriteLine($"alive hits {alive.Hits}, relayed {lab.Balancer.Relay.Relayed}, refused target {ejected.State} ({ejected.Reason}: {ejected.Description})");
        Assert.Equal(4, alive.Hits);
        Assert.Equal(4, lab.Balancer.Relay.Relayed);
        Assert.Equal(TargetState.Unhealthy, ejected.State);
    }

    [Fact]
    public async Task DrainingTarget_GetsNoNewRequests_AndItsRelayedRequestsCountUntilDone()
    {
        var port = TestPorts.Next();
        await using var old = await TargetServer.StartAsync("old");
        await using var next = await TargetServer.StartAsync("next");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [old.Port])]), fastPath: true);
        using var slowClient = Lab.Client(port);
        var slow = slowClient.GetStringAsync("/slow");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(old.SlowInFlight == 1), TimeSpan.FromSeconds(60), "the slow request to reach the old target");

        await lab.Scheduler.PushAsync(Delta(1, 2, Register("web", next.Port), Drain("web", old.Port)));
        await lab.Balancer.WaitForVersionAsync(2);
        await lab.Scheduler.WaitForAsync(
            s => s.Messages(m => m.InFlight).SelectMany(r => r.Targets).Any(t => t.Target.Port == old.Port && t.Requests == 1),
            "the relayed request in flight on the draining target");
        for (var i = 0; i < 5; i++)
        {
            using var client = Lab.Client(port);
            Assert.Equal("next", await client.GetStringAsync("/").WithTimeout());
        }

        old.ReleaseSlow();
        Assert.Equal("old slow", await slow.WithTimeout());
        await lab.Scheduler.WaitForAsync(
            s => s.Messages(m => m.InFlight).SelectMany(r => r.Targets).Any(t => t.Target.Port == old.Port && t.Requests == 0),
            "the draining target reported done (0 in flight)");
        Assert.Equal(6, lab.Balancer.Relay.Relayed);
    }

    private async Task<Balancer> StartAsync(int targetPort, bool fastPath)
    {
        var port = TestPorts.Next();
        var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("raw"))], [Group("raw", [targetPort])]), fastPath: fastPath);
        return new Balancer(lab, port);
    }

    private sealed record Balancer(Lab Lab, int Port) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Lab.DisposeAsync();
    }
}

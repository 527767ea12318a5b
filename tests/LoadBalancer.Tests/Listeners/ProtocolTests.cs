using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Net.Client;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Listeners;

/// <summary>TCP listeners (bytes only), WebSockets and gRPC through the balancer, and listeners opened and closed live.</summary>
public sealed class ProtocolTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TcpListener_CopiesBytesBothWays_AndPassesTheHalfCloseOn()
    {
        var port = TestPorts.Next();
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var echoPort = ((IPEndPoint)echo.LocalEndpoint).Port;
        var served = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            // Echoes in upper case until the client half-closes, then says "bye" and closes: proves both directions
            // and the half-close travel through the balancer. Connections that send nothing (the test's port probe)
            // are served too.
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await echo.AcceptSocketAsync();
                }
                catch (Exception)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var buffer = new byte[1024];
                        var total = new StringBuilder();
                        int read;
                        while ((read = await socket.ReceiveAsync(buffer)) > 0)
                        {
                            var text = Encoding.ASCII.GetString(buffer, 0, read);
                            total.Append(text);
                            await socket.SendAsync(Encoding.ASCII.GetBytes(text.ToUpperInvariant()));
                        }

                        await socket.SendAsync("bye"u8.ToArray());
                        socket.Shutdown(SocketShutdown.Both);
                        if (total.Length > 0)
                        {
                            served.TrySetResult(total.ToString());
                        }
                    }
                });
            }
        });
        var snapshot = Snapshot(1, [Tcp(port, "db")], [Group("db", [echoPort], protocol: TargetProtocol.Tcp)]);
        await using var lab = await Lab.StartAsync(output, snapshot);

        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        await client.SendAsync("hello, not http\r\n\r\n"u8.ToArray()).WithTimeout();
        var received = new StringBuilder();
        var chunk = new byte[1024];
        while (received.Length < "HELLO, NOT HTTP\r\n\r\n".Length)
        {
            var n = await client.ReceiveAsync(chunk).WithTimeout();
            Assert.True(n > 0, "the connection closed early");
            received.Append(Encoding.ASCII.GetString(chunk, 0, n));
        }

        Assert.Equal("HELLO, NOT HTTP\r\n\r\n", received.ToString());
        client.Shutdown(SocketShutdown.Send);
        received.Clear();
        int m;
        while ((m = await client.ReceiveAsync(chunk).WithTimeout()) > 0)
        {
            received.Append(Encoding.ASCII.GetString(chunk, 0, m));
        }

        Assert.Equal("bye", received.ToString());
        Assert.Equal("hello, not http\r\n\r\n", await served.Task.WithTimeout());
    }

    [Fact]
    public async Task WebSocket_IsProxied()
    {
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("ws");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(port, Forward("web"))], [Group("web", [target.Port])]));

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), CancellationToken.None).WithTimeout();
        await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
        Assert.Equal("ws:ping", Encoding.UTF8.GetString(buffer, 0, result.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WithTimeout();
    }

    [Fact]
    public async Task Grpc_IsProxiedOverAnHttpsListener_ToAGrpcTargetGroup()
    {
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("grpc-target", http2Only: true);
        var certificate = SelfSigned();
        var listener = new Listener
        {
            ListenerArn = ListenerArn(port),
            LoadBalancerArn = LoadBalancerArn,
            Port = port,
            Protocol = ListenerProtocol.Https,
            Certificates = { new CertificateRef { CertificateArn = certificate.CertificateArn } },
            DefaultActions = { Forward("grpc") },
        };
        var snapshot = Snapshot(1, [listener], [Group("grpc", [target.Port], version: TargetProtocolVersion.Grpc)], certificates: [certificate]);
        await using var lab = await Lab.StartAsync(output, snapshot);

        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=lb.test" } },
        });
        var client = new Scheduler.V1.LoadBalancing.LoadBalancingClient(channel);
        var reply = await client.DescribeLoadBalancersAsync(new DescribeLoadBalancersRequest()).ResponseAsync.WithTimeout();

        Assert.Equal("grpc-target", reply.LoadBalancers.Single().LoadBalancerName);
    }

    [Fact]
    public async Task Listeners_OpenAndCloseAsTheConfigurationChanges()
    {
        var first = TestPorts.Next();
        var second = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("t");
        await using var lab = await Lab.StartAsync(output, Snapshot(1, [Http(first, Forward("web"))], [Group("web", [target.Port])]));
        using var keepAlive = Lab.Client(first);
        Assert.Equal("t", await keepAlive.GetStringAsync("/").WithTimeout());

        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { ListenerUpserted = Http(second, Fixed("200", "second")) }));
        await lab.Balancer.WaitForVersionAsync(2);
        await BalancerHost.WaitForPortAsync(second);
        using var client = Lab.Client(second);
        Assert.Equal("second", await client.GetStringAsync("/").WithTimeout());
        // The unchanged listener was left alone: its keep-alive connection still works.
        Assert.Equal("t", await keepAlive.GetStringAsync("/").WithTimeout());

        await lab.Scheduler.PushAsync(Delta(2, 3, new ConfigChange { ListenerRemoved = ListenerArn(first) }));
        await lab.Balancer.WaitForVersionAsync(3);
        await BalancerHost.WaitForPortAsync(first, open: false);
        Assert.Equal("second", await client.GetStringAsync("/").WithTimeout());
    }

    private static CertificateMaterial SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=lb.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return new CertificateMaterial
        {
            CertificateArn = "arn:berth:acm:local:000000000000:certificate/test",
            CertificatePem = certificate.ExportCertificatePem(),
            PrivateKeyPem = key.ExportPkcs8PrivateKeyPem(),
        };
    }
}

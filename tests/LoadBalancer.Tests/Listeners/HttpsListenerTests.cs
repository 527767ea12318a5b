using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Listeners;

/// <summary>
/// HTTPS listeners with real TLS handshakes over loopback: the default certificate, SNI choosing another (with its
/// chain), a re-imported certificate served on the next connection while open ones go on, and ELB's TLS policies.
/// Certificates are made in the test.
/// </summary>
public sealed class HttpsListenerTests(ITestOutputHelper output)
{
    private const string WwwArn = "arn:berth:acm:local:000000000000:certificate/www";
    private const string ApiArn = "arn:berth:acm:local:000000000000:certificate/api";

    private static CertificateMaterial Material(string arn, PemCertificate pem) => new()
    {
        CertificateArn = arn,
        CertificatePem = pem.CertificatePem + "\n" + pem.ChainPem,
        PrivateKeyPem = pem.PrivateKeyPem,
    };

    private static Listener Https(int port, string policy, params string[] sni)
    {
        var listener = new Listener
        {
            ListenerArn = ListenerArn(port),
            LoadBalancerArn = LoadBalancerArn,
            Port = port,
            Protocol = ListenerProtocol.Https,
            Certificates = { new CertificateRef { CertificateArn = WwwArn } },
            SslPolicy = policy,
            DefaultActions = { Forward("web") },
        };
        listener.SniCertificates.AddRange(sni.Select(arn => new CertificateRef { CertificateArn = arn }));
        return listener;
    }

    /// <summary>One TLS handshake: the certificate the server chose, the chain the client could build from what it sent, the version.</summary>
    private static async Task<(string Thumbprint, List<string> Chain, SslProtocols Protocol)> HandshakeAsync(int port, string serverName, SslProtocols protocols = SslProtocols.None)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port).WithTimeout();
        await using var tls = new SslStream(tcp.GetStream());
        var chain = new List<string>();
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            // Empty: no SNI name is sent.
            TargetHost = serverName,
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, _, built, _) =>
            {
                chain.AddRange(built!.ChainElements.Select(e => e.Certificate.Subject));
                return true;
            },
        }).WithTimeout();
        return (tls.RemoteCertificate is System.Security.Cryptography.X509Certificates.X509Certificate2 c ? c.Thumbprint : "", chain, tls.SslProtocol);
    }

    private static async Task<Exception> RefusedHandshakeAsync(int port, SslProtocols protocols)
    {
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(port, "www.example.com", protocols));
        Assert.True(refused is AuthenticationException or IOException, $"expected a failed handshake, got {refused}");
        return refused;
    }

    [Fact]
    public async Task DefaultCertificate_SniChoosesAnother_AndAReimportIsServedOnTheNextConnection()
    {
        var port = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("t");
        var www = TestCertificates.SelfSigned(["www.example.com"]);
        var api = TestCertificates.Issued(["api.example.com", "*.api.example.com"]);
        var snapshot = Snapshot(1, [Https(port, "", ApiArn)], [Group("web", [target.Port])], certificates: [Material(WwwArn, www), Material(ApiArn, api)]);
        await using var lab = await Lab.StartAsync(output, snapshot);

        Assert.Equal(www.Thumbprint, (await HandshakeAsync(port, "www.example.com")).Thumbprint);
        Assert.Equal(www.Thumbprint, (await HandshakeAsync(port, "")).Thumbprint);
        Assert.Equal(www.Thumbprint, (await HandshakeAsync(port, "unknown.example.com")).Thumbprint);
        var sni = await HandshakeAsync(port, "api.example.com");
        Assert.Equal(api.Thumbprint, sni.Thumbprint);
        // The intermediate came with it (ACM's CertificateChain is served).
        Assert.Contains("CN=Berth Test Intermediate CA", sni.Chain);
        Assert.Equal(api.Thumbprint, (await HandshakeAsync(port, "v2.API.example.com")).Thumbprint);

        // Requests go through; the connection stays open across the re-import below.
        var handshakes = 0;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => Interlocked.Increment(ref handshakes) > 0 },
        }) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
        Assert.Equal("t", await client.GetStringAsync("/").WithTimeout());

        // ACM re-import: the same ARN, a new certificate, as a delta.
        var rotated = TestCertificates.SelfSigned(["www.example.com"]);
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { CertificateUpserted = Material(WwwArn, rotated) }));
        await lab.Balancer.WaitForVersionAsync(2);
        Assert.Equal(rotated.Thumbprint, (await HandshakeAsync(port, "www.example.com")).Thumbprint);
        Assert.Equal(api.Thumbprint, (await HandshakeAsync(port, "api.example.com")).Thumbprint);
        // The listener was not restarted: the connection opened before the re-import still serves, without a new handshake.
        Assert.Equal("t", await client.GetStringAsync("/").WithTimeout());
        Assert.Equal(1, handshakes);

        // RemoveListenerCertificates: SNI falls back to the default certificate.
        await lab.Scheduler.PushAsync(Delta(2, 3, new ConfigChange { ListenerUpserted = Https(port, "") }));
        await lab.Balancer.WaitForVersionAsync(3);
        Assert.Equal(rotated.Thumbprint, (await HandshakeAsync(port, "api.example.com")).Thumbprint);
    }

    [Fact]
    public async Task SslPolicy_SetsTheTlsVersions_AndAPolicyChangeAppliesToTheNextHandshake()
    {
        var modern = TestPorts.Next();
        var tls12 = TestPorts.Next();
        await using var target = await TargetServer.StartAsync("t");
        var www = TestCertificates.SelfSigned(["www.example.com"], key: "p256");
        var snapshot = Snapshot(1, [Https(modern, "ELBSecurityPolicy-TLS13-1-2-2021-06"), Https(tls12, "ELBSecurityPolicy-TLS-1-2-2017-01")],
            [Group("web", [target.Port])], certificates: [Material(WwwArn, www)]);
        await using var lab = await Lab.StartAsync(output, snapshot);

        // TLS 1.2 and 1.3 policy: both versions; TLS 1.0 and 1.1 refused.
        Assert.Equal(SslProtocols.Tls13, (await HandshakeAsync(modern, "www.example.com", SslProtocols.Tls13)).Protocol);
        Assert.Equal(SslProtocols.Tls12, (await HandshakeAsync(modern, "www.example.com", SslProtocols.Tls12)).Protocol);
#pragma warning disable SYSLIB0039, CA5397 // offering the old versions is the point
        await RefusedHandshakeAsync(modern, SslProtocols.Tls11);
        await RefusedHandshakeAsync(modern, SslProtocols.Tls);
#pragma warning restore SYSLIB0039, CA5397

        // TLS 1.2 only: a client that speaks only TLS 1.3 is refused.
        Assert.Equal(SslProtocols.Tls12, (await HandshakeAsync(tls12, "www.example.com")).Protocol);
        await RefusedHandshakeAsync(tls12, SslProtocols.Tls13);

        // ModifyListener to the TLS 1.3 policy: the next handshake may use TLS 1.3.
        await lab.Scheduler.PushAsync(Delta(1, 2, new ConfigChange { ListenerUpserted = Https(tls12, "ELBSecurityPolicy-TLS13-1-2-2021-06") }));
        await lab.Balancer.WaitForVersionAsync(2);
        Assert.Equal(SslProtocols.Tls13, (await HandshakeAsync(tls12, "www.example.com", SslProtocols.Tls13)).Protocol);
    }
}

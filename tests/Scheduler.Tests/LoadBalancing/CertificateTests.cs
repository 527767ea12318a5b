using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// ACM's certificate operations and HTTPS listeners (default certificate, SNI certificates, TLS policies) on the real
/// scheduler over real gRPC and SQLite, with certificates made in the test; a fake balancer replica shows what the
/// watch stream carries.
/// </summary>
public sealed class CertificateTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private V1.LoadBalancing.LoadBalancingClient Api => new(Host.Channel);

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    private async Task<string> ImportAsync(PemCertificate pem, string reimport = "") =>
        (await Api.ImportCertificateAsync(new ImportCertificateRequest
        {
            CertificatePem = pem.CertificatePem,
            PrivateKeyPem = pem.PrivateKeyPem,
            CertificateChainPem = pem.ChainPem,
            CertificateArn = reimport,
        }, Host.Admin)).CertificateArn;

    private async Task<CertificateDetail> DescribeAsync(string arn) =>
        (await Api.DescribeCertificateAsync(new DescribeCertificateRequest { CertificateArn = arn }, Host.Admin)).Certificate;

    private async Task BalancerAsync()
    {
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
        await Api.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front" }, Host.Admin);
        await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web", Port = 80 }, Host.Admin);
    }

    private static CreateListenerRequest Https(int port, string certificate, string policy = "") => new()
    {
        LoadBalancerArn = "front",
        Port = port,
        Protocol = ListenerProtocol.Https,
        Certificates = { new CertificateRef { CertificateArn = certificate } },
        SslPolicy = policy,
        DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = "web" } } } } },
    };

    [Fact]
    public async Task ImportCertificate_ReadsWhatAcmShows_AndDescribesListsAndDeletes()
    {
        var rsa = TestCertificates.Issued(["www.example.com", "example.com"]);
        var arn = await ImportAsync(rsa);
        Assert.StartsWith("arn:berth:acm:local:000000000000:certificate/", arn);
        var detail = await DescribeAsync(arn);
        Assert.Equal(("www.example.com", "ISSUED", "IMPORTED", "RSA_2048", "SHA256WITHRSA"), (detail.DomainName, detail.Status, detail.Type, detail.KeyAlgorithm, detail.SignatureAlgorithm));
        Assert.Equal(["www.example.com", "example.com"], detail.SubjectAlternativeNames);
        Assert.Equal("CN=Berth Test Intermediate CA", detail.Issuer);
        Assert.True(detail.NotAfter.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(29));
        Assert.Empty(detail.InUseBy);

        var ec = await ImportAsync(TestCertificates.SelfSigned(["api.example.com"], key: "p384"));
        Assert.Equal("EC_secp384r1", (await DescribeAsync(ec)).KeyAlgorithm);

        var listed = (await Api.ListCertificatesAsync(new ListCertificatesRequest(), Host.Admin)).Certificates;
        Assert.Equal(["api.example.com", "www.example.com"], listed.Select(c => c.DomainName));
        Assert.Equal(2, (await Api.ListCertificatesAsync(new ListCertificatesRequest { CertificateStatuses = { "ISSUED" } }, Host.Admin)).Certificates.Count);
        Assert.Empty((await Api.ListCertificatesAsync(new ListCertificatesRequest { CertificateStatuses = { "EXPIRED" } }, Host.Admin)).Certificates);

        // Stored: a restart keeps both, the key included (a listener can still use them).
        await RestartAsync();
        Assert.Equal(2, (await Api.ListCertificatesAsync(new ListCertificatesRequest(), Host.Admin)).Certificates.Count);

        await Api.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = ec }, Host.Admin);
        var gone = await RefusedAsync(() => DescribeAsync(ec));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Equal($"ResourceNotFoundException: certificate_arn: Could not find certificate {ec}.", gone.Status.Detail);
        await RestartAsync();
        Assert.Equal([arn], (await Api.ListCertificatesAsync(new ListCertificatesRequest(), Host.Admin)).Certificates.Select(c => c.CertificateArn));
    }

    [Fact]
    public async Task ImportCertificate_RefusesWhatAcmRefuses_WithItsWordsAndTheField()
    {
        var good = TestCertificates.SelfSigned(["www.example.com"]);
        var other = TestCertificates.SelfSigned(["www.example.com"]);

        async Task<string> RefusedImportAsync(string certificate, string key, string chain = "")
        {
            var e = await RefusedAsync(() => Api.ImportCertificateAsync(new ImportCertificateRequest { CertificatePem = certificate, PrivateKeyPem = key, CertificateChainPem = chain }, Host.Admin).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            return e.Status.Detail;
        }

        Assert.Equal("ValidationException: certificate: Unable to parse certificate. Please ensure the certificate is in PEM format.",
            await RefusedImportAsync("not a certificate", good.PrivateKeyPem));
        Assert.Equal("ValidationException: certificate: Unable to parse certificate. Please ensure the certificate is in PEM format.",
            await RefusedImportAsync("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", good.PrivateKeyPem));
        Assert.StartsWith("ValidationException: private_key: Unable to parse the private key.", await RefusedImportAsync(good.CertificatePem, "garbage"));
        Assert.Equal("ValidationException: private_key: The private key does not match the public key in the certificate.",
            await RefusedImportAsync(good.CertificatePem, other.PrivateKeyPem));
        // An RSA certificate with an EC key.
        Assert.Equal("ValidationException: private_key: The private key does not match the public key in the certificate.",
            await RefusedImportAsync(good.CertificatePem, TestCertificates.SelfSigned(["x"], key: "p256").PrivateKeyPem));
        var expired = TestCertificates.SelfSigned(["old.example.com"], notBefore: DateTimeOffset.UtcNow.AddDays(-60), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        Assert.StartsWith("ValidationException: certificate: The certificate is expired (not after ", await RefusedImportAsync(expired.CertificatePem, expired.PrivateKeyPem));
        var odd = TestCertificates.SelfSigned(["odd.example.com"], key: "rsa1536");
        Assert.Equal("ValidationException: private_key: The private key is not supported: RSA keys of 1024, 2048, 3072 or 4096 bits are (this one has 1536).",
            await RefusedImportAsync(odd.CertificatePem, odd.PrivateKeyPem));
        var issued = TestCertificates.Issued(["www.example.com"]);
        Assert.StartsWith("ValidationException: certificate_chain: Could not validate the certificate with the certificate chain:",
            await RefusedImportAsync(issued.CertificatePem, issued.PrivateKeyPem, chain: good.CertificatePem));

        var missing = await RefusedAsync(() => Api.ImportCertificateAsync(new ImportCertificateRequest
        {
            CertificatePem = good.CertificatePem,
            PrivateKeyPem = good.PrivateKeyPem,
            CertificateArn = "arn:berth:acm:local:000000000000:certificate/00000000-0000-0000-0000-000000000000",
        }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.StartsWith("ResourceNotFoundException: certificate_arn: Could not find certificate", missing.Status.Detail);
        Assert.Empty((await Api.ListCertificatesAsync(new ListCertificatesRequest(), Host.Admin)).Certificates);
    }

    [Fact]
    public async Task HttpsListener_TakesACertificateAndAPolicy_RefusesUnknownOnes_AndKeepsItsCertificatesFromDeletion()
    {
        await BalancerAsync();
        var www = await ImportAsync(TestCertificates.SelfSigned(["www.example.com"]));
        var api = await ImportAsync(TestCertificates.SelfSigned(["api.example.com"], key: "p256"));

        var none = await RefusedAsync(() => Api.CreateListenerAsync(Https(443, ""), Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationError: certificates: an HTTPS listener takes exactly one (default) certificate", none.Status.Detail);
        var unknown = await RefusedAsync(() => Api.CreateListenerAsync(Https(443, Acmish("00000000-0000-0000-0000-000000000000")), Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.StartsWith("CertificateNotFound: certificates[0].certificate_arn: certificate 'arn:berth:acm:", unknown.Status.Detail);
        var policy = await RefusedAsync(() => Api.CreateListenerAsync(Https(443, www, "ELBSecurityPolicy-Nope"), Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, policy.StatusCode);
        Assert.StartsWith("SSLPolicyNotFound: ssl_policy: SSL policy 'ELBSecurityPolicy-Nope' not found", policy.Status.Detail);
        Assert.Empty((await Api.DescribeListenersAsync(new DescribeListenersRequest { LoadBalancerArn = "front" }, Host.Admin)).Listeners);

        var listener = (await Api.CreateListenerAsync(Https(443, www), Host.Admin)).Listener;
        Assert.Equal(("ELBSecurityPolicy-2016-08", "HTTP2Preferred"), (listener.SslPolicy, listener.AlpnPolicy));
        var strict = (await Api.CreateListenerAsync(Https(8443, www, "ELBSecurityPolicy-TLS13-1-2-2021-06"), Host.Admin)).Listener;
        Assert.Equal("ELBSecurityPolicy-TLS13-1-2-2021-06", strict.SslPolicy);

        // SNI: AddListenerCertificates, DescribeListenerCertificates (default first), the default one not removable.
        await Api.AddListenerCertificatesAsync(new AddListenerCertificatesRequest { ListenerArn = listener.ListenerArn, Certificates = { new CertificateRef { CertificateArn = api } } }, Host.Admin);
        var certificates = (await Api.DescribeListenerCertificatesAsync(new DescribeListenerCertificatesRequest { ListenerArn = listener.ListenerArn }, Host.Admin)).Certificates;
        Assert.Equal([(www, true), (api, false)], certificates.Select(c => (c.CertificateArn, c.IsDefault)));
        var removeDefault = await RefusedAsync(() => Api.RemoveListenerCertificatesAsync(new RemoveListenerCertificatesRequest { ListenerArn = listener.ListenerArn, Certificates = { new CertificateRef { CertificateArn = www } } }, Host.Admin).ResponseAsync);
        Assert.StartsWith("OperationNotPermitted: certificates:", removeDefault.Status.Detail);
        Assert.Equal(new[] { listener.ListenerArn, strict.ListenerArn }.Order(StringComparer.Ordinal), (await DescribeAsync(www)).InUseBy);
        Assert.Equal([listener.ListenerArn], (await DescribeAsync(api)).InUseBy);

        // ACM refuses to delete a certificate in use, until nothing uses it.
        var inUse = await RefusedAsync(() => Api.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = api }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, inUse.StatusCode);
        Assert.Equal($"ResourceInUseException: certificate_arn: Certificate {api} in account 000000000000 is in use.", inUse.Status.Detail);

        // A restart rebuilds who uses what from the stored listeners.
        await RestartAsync();
        Assert.Equal(StatusCode.FailedPrecondition, (await RefusedAsync(() => Api.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = api }, Host.Admin).ResponseAsync)).StatusCode);

        await Api.RemoveListenerCertificatesAsync(new RemoveListenerCertificatesRequest { ListenerArn = listener.ListenerArn, Certificates = { new CertificateRef { CertificateArn = api } } }, Host.Admin);
        await Api.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = api }, Host.Admin);

        // Modifying the listener to HTTP drops its certificate; deleting the other listener frees it.
        var http = (await Api.ModifyListenerAsync(new ModifyListenerRequest { ListenerArn = listener.ListenerArn, Protocol = ListenerProtocol.Http }, Host.Admin)).Listener;
        Assert.Equal((0, ""), (http.Certificates.Count, http.SslPolicy));
        Assert.Equal([strict.ListenerArn], (await DescribeAsync(www)).InUseBy);
        await Api.DeleteListenerAsync(new DeleteListenerRequest { ListenerArn = strict.ListenerArn }, Host.Admin);
        Assert.Empty((await DescribeAsync(www)).InUseBy);
        await Api.DeleteCertificateAsync(new DeleteCertificateRequest { CertificateArn = www }, Host.Admin);
    }

    [Fact]
    public async Task WatchStream_CarriesTheMaterialOfUsedCertificates_AndAReimportAsADelta()
    {
        await BalancerAsync();
        var first = TestCertificates.SelfSigned(["www.example.com"]);
        var www = await ImportAsync(first);
        var unused = await ImportAsync(TestCertificates.SelfSigned(["other.example.com"]));
        await Api.CreateListenerAsync(Https(443, www), Host.Admin);
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = "front" }, Host.Admin)).Credential;
        await using var balancer = await FakeBalancer.ConnectAsync(Host, credential, "front");
        await balancer.WaitForAsync(b => b.Config is not null, "the snapshot");
        var material = Assert.Single(balancer.Config!.Certificates);
        Assert.Equal(www, material.CertificateArn);
        Assert.Contains("-----BEGIN PRIVATE KEY-----", material.PrivateKeyPem);
        Assert.DoesNotContain(unused, balancer.Certificates.Keys);

        // Rotation: the same ARN, a new certificate; the replica gets the new material in a delta.
        var second = TestCertificates.SelfSigned(["www.example.com"]);
        Assert.Equal(www, await ImportAsync(second, reimport: www));
        await balancer.WaitForAsync(b => b.Certificates.TryGetValue(www, out var m) && m.CertificatePem.Contains(Body(second.CertificatePem), StringComparison.Ordinal), "the re-imported certificate");
        var reimported = await DescribeAsync(www);
        Assert.True(reimported.ImportedAt.ToDateTimeOffset() >= reimported.CreatedAt.ToDateTimeOffset());
        Assert.Empty(balancer.Errors);
    }

    private static string Acmish(string id) => "arn:berth:acm:local:000000000000:certificate/" + id;

    /// <summary>The base64 body of the first PEM block (the stored form is re-encoded, so headers and line ends may differ).</summary>
    private static string Body(string pem) => pem.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];
}

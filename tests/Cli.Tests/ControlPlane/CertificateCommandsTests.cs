using Berth.Cli.Common;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Cli.Tests.ControlPlane;

/// <summary><c>berth certificate</c> and HTTPS listeners (<c>berth lb listener create --protocol HTTPS --certificate</c>) against a real scheduler process.</summary>
public sealed class CertificateCommandsTests(SchedulerFixture scheduler, ITestOutputHelper output) : IClassFixture<SchedulerFixture>, IDisposable
{
    private readonly CliRunner _cli = new(output);

    [Fact]
    public async Task ImportListDescribe_UseOnAnHttpsListener_AndDeleteOnlyWhenUnused()
    {
        (await _cli.RunAsync("--endpoint", scheduler.Url, "login", "--token-file", scheduler.TokenFile)).EnsureSuccess();
        var cluster = "tls-cli-" + Guid.NewGuid().ToString("N")[..6];
        (await _cli.RunAsync("cluster", "create", cluster)).EnsureSuccess();
        async Task<CliResult> Run(params string[] args) => await _cli.RunAsync(["--cluster", cluster, .. args]);

        var domain = $"{cluster}.example.com";
        var pem = TestCertificates.Issued([domain]);
        var certificate = Path.Combine(_cli.Home, "cert.pem");
        var key = Path.Combine(_cli.Home, "key.pem");
        var chain = Path.Combine(_cli.Home, "chain.pem");
        await File.WriteAllTextAsync(certificate, pem.CertificatePem);
        await File.WriteAllTextAsync(key, pem.PrivateKeyPem);
        await File.WriteAllTextAsync(chain, pem.ChainPem);

        var arn = (string)(await Run("-o", "json", "certificate", "import", "--certificate", certificate, "--private-key", key, "--certificate-chain", chain)).EnsureSuccess().Json["certificateArn"]!;
        Assert.StartsWith("arn:berth:acm:local:000000000000:certificate/", arn);
        Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(domain)}\s+ISSUED\s+RSA_2048\s+.+\s+no\s+{arn}$", (await Run("certificate", "list")).EnsureSuccess().Output);
        var described = (await Run("certificate", "describe", arn)).EnsureSuccess().Output;
        Assert.Contains("CN=Berth Test Intermediate CA", described, StringComparison.Ordinal);

        // ACM's words for a key that is not the certificate's, through the CLI's error format.
        await File.WriteAllTextAsync(key, TestCertificates.SelfSigned([domain]).PrivateKeyPem);
        var mismatch = await Run("certificate", "import", "--certificate", certificate, "--private-key", key);
        Assert.Equal(ExitCodes.Failure, mismatch.ExitCode);
        Assert.Contains("invalid request: ValidationException: private_key: The private key does not match the public key in the certificate.", mismatch.Error, StringComparison.Ordinal);

        var lb = "tls-" + Guid.NewGuid().ToString("N")[..6];
        var group = "tls-" + Guid.NewGuid().ToString("N")[..6];
        (await Run("lb", "create", lb)).EnsureSuccess();
        (await Run("targetgroup", "create", group, "--port", "80")).EnsureSuccess();
        var listeners = (await Run("lb", "listener", "create", "--lb", lb, "--port", "443", "--protocol", "HTTPS", "--certificate", arn,
            "--ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06", "--forward", group)).EnsureSuccess().Output;
        Assert.Matches(@"(?m)^HTTPS\s+443\s+forward .+\s+ELBSecurityPolicy-TLS13-1-2-2021-06 \(1 cert\.\)\s+arn:", listeners);
        var noPolicy = await Run("lb", "listener", "create", "--lb", lb, "--port", "8443", "--protocol", "HTTPS", "--certificate", arn, "--ssl-policy", "Nope", "--forward", group);
        Assert.Contains("SSLPolicyNotFound: ssl_policy:", noPolicy.Error, StringComparison.Ordinal);

        var inUse = await Run("certificate", "delete", arn);
        Assert.Equal(ExitCodes.Failure, inUse.ExitCode);
        Assert.Contains($"not possible now: ResourceInUseException: certificate_arn: Certificate {arn} in account 000000000000 is in use.", inUse.Error, StringComparison.Ordinal);
        Assert.Matches(@"\s1 listener\(s\)\s", (await Run("certificate", "list")).EnsureSuccess().Output);

        (await Run("lb", "delete", lb)).EnsureSuccess();
        Assert.Contains($"Deleted {arn}.", (await Run("certificate", "delete", arn)).EnsureSuccess().Output, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}

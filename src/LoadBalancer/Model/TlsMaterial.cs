using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.LoadBalancer.Model;

/// <summary>
/// Certificates and TLS policies of HTTPS listeners, read once per configuration: a certificate becomes an
/// <see cref="SslStreamCertificateContext"/> (leaf with its key, intermediates sent in the handshake, no chain fetched
/// over the network), an ELB policy name becomes the TLS versions it allows.
/// </summary>
internal static class TlsMaterial
{
    /// <summary>ELB's quota of listeners per load balancer (the scheduler enforces it too).</summary>
    public const int MaxListeners = 50;

    /// <summary>ELB's default policy for a listener created through the API.</summary>
    public const string DefaultPolicy = "ELBSecurityPolicy-2016-08";

// TLS 1.0 and 1.1 are obsolete, and ELB's older policies (its API default among them) still allow them: a user who
// picked one gets what ELB gives, as far as the platform's TLS library still speaks them.
#pragma warning disable SYSLIB0039, CA5397
    private const SslProtocols From10 = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12;
    private const SslProtocols From11 = SslProtocols.Tls11 | SslProtocols.Tls12;
    private const SslProtocols From10With13 = From10 | SslProtocols.Tls13;
    private const SslProtocols From11With13 = From11 | SslProtocols.Tls13;

    // The same names, with the same versions, as the scheduler's LoadBalancing/SslPolicies (ELB's predefined policies).
    private static readonly FrozenDictionary<string, SslProtocols> s_policies = new Dictionary<string, SslProtocols>(StringComparer.Ordinal)
    {
        ["ELBSecurityPolicy-2016-08"] = From10,
        ["ELBSecurityPolicy-2015-05"] = From10,
        ["ELBSecurityPolicy-TLS-1-0-2015-04"] = From10,
        ["ELBSecurityPolicy-TLS-1-1-2017-01"] = From11,
        ["ELBSecurityPolicy-TLS-1-2-2017-01"] = SslProtocols.Tls12,
        ["ELBSecurityPolicy-TLS-1-2-Ext-2018-06"] = SslProtocols.Tls12,
        ["ELBSecurityPolicy-FS-2018-06"] = From10,
        ["ELBSecurityPolicy-FS-1-1-2019-08"] = From11,
        ["ELBSecurityPolicy-FS-1-2-2019-08"] = SslProtocols.Tls12,
        ["ELBSecurityPolicy-FS-1-2-Res-2019-08"] = SslProtocols.Tls12,
        ["ELBSecurityPolicy-FS-1-2-Res-2020-10"] = SslProtocols.Tls12,
        ["ELBSecurityPolicy-TLS13-1-0-2021-06"] = From10With13,
        ["ELBSecurityPolicy-TLS13-1-1-2021-06"] = From11With13,
        ["ELBSecurityPolicy-TLS13-1-2-2021-06"] = SslProtocols.Tls12 | SslProtocols.Tls13,
        ["ELBSecurityPolicy-TLS13-1-2-Res-2021-06"] = SslProtocols.Tls12 | SslProtocols.Tls13,
        ["ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"] = SslProtocols.Tls12 | SslProtocols.Tls13,
        ["ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06"] = SslProtocols.Tls12 | SslProtocols.Tls13,
        ["ELBSecurityPolicy-TLS13-1-3-2021-06"] = SslProtocols.Tls13,
    }.ToFrozenDictionary(StringComparer.Ordinal);
#pragma warning restore SYSLIB0039, CA5397

    /// <summary>The TLS versions a policy allows, or null for a name ELB does not have.</summary>
    public static SslProtocols? Protocols(string policy) => s_policies.TryGetValue(policy, out var protocols) ? protocols : null;

    /// <summary>Reads a certificate (leaf first, then its chain) and its key; refuses what cannot serve a handshake.</summary>
    public static CertificateModel Load(string arn, string certificatePem, string privateKeyPem, string field)
    {
        // The leaf and the chain live as long as the context made from them, which the model holds.
#pragma warning disable CA2000
        X509Certificate2 leaf;
        var intermediates = new X509Certificate2Collection();
        try
        {
            // The leaf is the first block (CreateFromPem would not pick it out of a chain by itself).
            leaf = X509Certificate2.CreateFromPem(certificatePem.AsSpan()[PemEncoding.Find(certificatePem).Location], privateKeyPem);
            intermediates.ImportFromPem(certificatePem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigValidationException(field, $"cannot be loaded with its key: {e.Message}");
        }

        // ImportFromPem read the leaf too: the chain is what follows it.
        var chain = new X509Certificate2Collection();
        foreach (var certificate in intermediates)
        {
            if (certificate.Thumbprint == leaf.Thumbprint)
            {
                certificate.Dispose();
            }
            else
            {
                chain.Add(certificate);
            }
        }

        var names = DnsNames(leaf);
        var context = SslStreamCertificateContext.Create(leaf, chain, offline: true);
#pragma warning restore CA2000
        return new CertificateModel(arn, certificatePem, privateKeyPem, names, context);
    }

    private static ImmutableArray<string> DnsNames(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                return [.. san.EnumerateDnsNames().Select(n => n.ToLowerInvariant())];
            }
        }

        var common = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(common) ? [] : [common.ToLowerInvariant()];
    }
}

using System.Collections.Immutable;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// An imported certificate (ACM ImportCertificate): the PEM material a balancer serves and the facts DescribeCertificate
/// shows, read from the certificate once at import. Account-wide, as in ACM; held by the <see cref="CertificateCatalog"/>.
/// A re-import replaces the record under the same ARN.
/// </summary>
internal sealed record CertificateRecord
{
    public required string Arn { get; init; }

    /// <summary>The certificate followed by its chain (intermediates), PEM.</summary>
    public required string CertificatePem { get; init; }

    /// <summary>The private key, PEM (PKCS#8).</summary>
    public required string PrivateKeyPem { get; init; }

    public required string DomainName { get; init; }

    public ImmutableArray<string> SubjectAlternativeNames { get; init; } = [];

    public string Subject { get; init; } = "";

    public string Issuer { get; init; } = "";

    public string Serial { get; init; } = "";

    public DateTimeOffset NotBefore { get; init; }

    public DateTimeOffset NotAfter { get; init; }

    /// <summary>ACM's name: <c>RSA_2048</c>, <c>EC_prime256v1</c>, ...</summary>
    public string KeyAlgorithm { get; init; } = "";

    public string SignatureAlgorithm { get; init; } = "";

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset ImportedAt { get; init; }
}

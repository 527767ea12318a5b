using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// Schema 1 of an imported certificate (certificates.Document): the PEM material and the facts read from it at import.
/// Its own shape, not the API's messages nor the kernel's record.
/// </summary>
internal sealed class CertificateDocument
{
    public int Schema { get; set; } = StoredDocuments.Schema;

    public string? CertificatePem { get; set; }

    public string? PrivateKeyPem { get; set; }

    public string? DomainName { get; set; }

    public List<string>? SubjectAlternativeNames { get; set; }

    public string? Subject { get; set; }

    public string? Issuer { get; set; }

    public string? Serial { get; set; }

    public DateTimeOffset NotBefore { get; set; }

    public DateTimeOffset NotAfter { get; set; }

    public string? KeyAlgorithm { get; set; }

    public string? SignatureAlgorithm { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ImportedAt { get; set; }
}

/// <summary>Certificate records to and from their stored form.</summary>
internal static class StoredCertificates
{
    public static CertificateRow ToRow(CertificateRecord c) => new()
    {
        Arn = c.Arn,
        Document = StoredDocuments.Encode(new CertificateDocument
        {
            CertificatePem = c.CertificatePem,
            PrivateKeyPem = c.PrivateKeyPem,
            DomainName = c.DomainName,
            SubjectAlternativeNames = [.. c.SubjectAlternativeNames],
            Subject = c.Subject,
            Issuer = c.Issuer,
            Serial = c.Serial,
            NotBefore = c.NotBefore,
            NotAfter = c.NotAfter,
            KeyAlgorithm = c.KeyAlgorithm,
            SignatureAlgorithm = c.SignatureAlgorithm,
            CreatedAt = c.CreatedAt,
            ImportedAt = c.ImportedAt,
        }),
    };

    public static CertificateRecord FromRow(CertificateRow row)
    {
        var d = StoredDocuments.DecodeCertificate(row.Document);
        return new CertificateRecord
        {
            Arn = row.Arn,
            CertificatePem = d.CertificatePem ?? throw new InvalidDataException($"Certificate {row.Arn} has no certificate."),
            PrivateKeyPem = d.PrivateKeyPem ?? throw new InvalidDataException($"Certificate {row.Arn} has no private key."),
            DomainName = d.DomainName ?? "",
            SubjectAlternativeNames = [.. d.SubjectAlternativeNames ?? []],
            Subject = d.Subject ?? "",
            Issuer = d.Issuer ?? "",
            Serial = d.Serial ?? "",
            NotBefore = d.NotBefore,
            NotAfter = d.NotAfter,
            KeyAlgorithm = d.KeyAlgorithm ?? "",
            SignatureAlgorithm = d.SignatureAlgorithm ?? "",
            CreatedAt = d.CreatedAt,
            ImportedAt = d.ImportedAt,
        };
    }
}

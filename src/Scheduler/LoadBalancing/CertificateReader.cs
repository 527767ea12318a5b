using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// Reads what ImportCertificate is given, with ACM's rules: a PEM certificate (intermediates may follow it, or come as
/// the chain), an unencrypted PEM private key of a type ACM imports (RSA 1024-4096 bits, ECDSA P-256/P-384/P-521) that
/// matches the certificate's public key, a certificate that has not expired, and a chain in which each certificate was
/// issued by the next. The stored material is normalized (certificates re-encoded, the key as PKCS#8), so the balancer
/// reads exactly what was checked here.
/// </summary>
internal static class CertificateReader
{
    // ACM's size limits: Certificate 32 KiB, PrivateKey 5 KiB (ours a little more: a PKCS#1 4096-bit key is ~3.2 KiB,
    // PKCS#8 with attributes more), CertificateChain 2 MiB.
    private const int MaxCertificate = 32_768;
    private const int MaxKey = 8_192;
    private const int MaxChain = 2_097_152;

    public static CertificateRecord Read(string arn, string certificatePem, string privateKeyPem, string chainPem, DateTimeOffset now, DateTimeOffset createdAt)
    {
        if (string.IsNullOrWhiteSpace(certificatePem))
        {
            throw Acm.Validation("certificate", "is required.");
        }

        if (string.IsNullOrWhiteSpace(privateKeyPem))
        {
            throw Acm.Validation("private_key", "is required.");
        }

        Limit("certificate", certificatePem, MaxCertificate);
        Limit("private_key", privateKeyPem, MaxKey);
        Limit("certificate_chain", chainPem, MaxChain);

        var certificates = ReadCertificates("certificate", certificatePem);
        var chain = string.IsNullOrWhiteSpace(chainPem) ? [] : ReadCertificates("certificate_chain", chainPem);
        try
        {
            var leaf = certificates[0];
            var all = certificates.Concat(chain).ToList();
            for (var i = 0; i + 1 < all.Count; i++)
            {
                if (!all[i].IssuerName.RawData.AsSpan().SequenceEqual(all[i + 1].SubjectName.RawData))
                {
                    throw Acm.Validation(i + 1 < certificates.Count ? "certificate" : "certificate_chain",
                        $"Could not validate the certificate with the certificate chain: '{all[i].Subject}' was not issued by '{all[i + 1].Subject}'.");
                }
            }

            if (leaf.NotAfter.ToUniversalTime() < now.UtcDateTime)
            {
                throw Acm.Validation("certificate", $"The certificate is expired (not after {leaf.NotAfter.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}).");
            }

            var (keyPem, keyAlgorithm) = ReadKey(leaf, privateKeyPem);
            var names = DnsNames(leaf);
            var commonName = leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            var domain = !string.IsNullOrEmpty(commonName) ? commonName : names.FirstOrDefault() ?? "";
            if (names.IsEmpty && domain.Length > 0)
            {
                names = [domain];
            }

            var pem = new StringBuilder();
            foreach (var certificate in all)
            {
                pem.Append(certificate.ExportCertificatePem()).Append('\n');
            }

            return new CertificateRecord
            {
                Arn = arn,
                CertificatePem = pem.ToString(),
                PrivateKeyPem = keyPem,
                DomainName = domain,
                SubjectAlternativeNames = names,
                Subject = leaf.Subject,
                Issuer = leaf.Issuer,
                Serial = string.Join(':', Convert.FromHexString(leaf.SerialNumber).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))),
                NotBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero),
                NotAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero),
                KeyAlgorithm = keyAlgorithm,
                SignatureAlgorithm = SignatureAlgorithm(leaf),
                CreatedAt = createdAt,
                ImportedAt = now,
            };
        }
        finally
        {
            foreach (var certificate in certificates.Concat(chain))
            {
                certificate.Dispose();
            }
        }
    }

    private static void Limit(string field, string value, int max)
    {
        if (value.Length > max)
        {
            throw Acm.Validation(field, $"must be at most {max} characters.");
        }
    }

    private static List<X509Certificate2> ReadCertificates(string field, string pem)
    {
        var blocks = PemBlocksOrEmpty(pem);
        if (blocks.Count == 0)
        {
            throw Acm.Validation(field, "Unable to parse certificate. Please ensure the certificate is in PEM format.");
        }

        if (blocks.FirstOrDefault(b => b.Label != "CERTIFICATE") is { Label: not null } other)
        {
            throw Acm.Validation(field, $"Unable to parse certificate. Please ensure the certificate is in PEM format (found a '{Elb.Printable(other.Label)}' block).");
        }

        var found = new List<X509Certificate2>();
        try
        {
            foreach (var (_, der) in blocks)
            {
                found.Add(X509CertificateLoader.LoadCertificate(der));
            }
        }
        catch (CryptographicException)
        {
            foreach (var certificate in found)
            {
                certificate.Dispose();
            }

            throw Acm.Validation(field, "Unable to parse certificate. Please ensure the certificate is in PEM format.");
        }

        return found;
    }

    /// <summary>The PEM blocks of a text, in order (RFC 7468), each label with its decoded bytes.</summary>
    private static List<(string Label, byte[] Der)> PemBlocks(string pem)
    {
        var blocks = new List<(string, byte[])>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out var written))
            {
                throw new CryptographicException("Bad base64 in a PEM block.");
            }

            blocks.Add((rest[fields.Label].ToString(), der[..written]));
            rest = rest[fields.Location.End..];
        }

        return blocks;
    }

    /// <summary>The key as PKCS#8 PEM and ACM's name for its algorithm, once it is known to match the certificate.</summary>
    private static (string Pem, string Algorithm) ReadKey(X509Certificate2 leaf, string privateKeyPem)
    {
        var blocks = PemBlocksOrEmpty(privateKeyPem);
        if (blocks.Any(b => b.Label == "ENCRYPTED PRIVATE KEY"))
        {
            throw Acm.Validation("private_key", "The private key is encrypted; import it unencrypted.");
        }

        if (blocks.Count != 1 || blocks[0].Label is not ("PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY"))
        {
            throw Acm.Validation("private_key", "Unable to parse the private key. Please ensure it is one unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1).");
        }

        switch (leaf.PublicKey.Oid.Value)
        {
            case "1.2.840.113549.1.1.1":
            {
                using var certificateKey = leaf.GetRSAPublicKey()!;
                using var key = RSA.Create();
                Import(key, privateKeyPem);
                var size = key.KeySize;
                if (size is not (1024 or 2048 or 3072 or 4096))
                {
                    throw Acm.Validation("private_key", $"The private key is not supported: RSA keys of 1024, 2048, 3072 or 4096 bits are (this one has {size}).");
                }

                if (!key.ExportParameters(false).Modulus!.AsSpan().SequenceEqual(certificateKey.ExportParameters(false).Modulus))
                {
                    throw Mismatch();
                }

                return (key.ExportPkcs8PrivateKeyPem(), $"RSA_{size}");
            }

            case "1.2.840.10045.2.1":
            {
                using var certificateKey = leaf.GetECDsaPublicKey()!;
                using var key = ECDsa.Create();
                Import(key, privateKeyPem);
                var curve = key.ExportParameters(false).Curve;
                var algorithm = curve.Oid.Value switch
                {
                    "1.2.840.10045.3.1.7" => "EC_prime256v1",
                    "1.3.132.0.34" => "EC_secp384r1",
                    "1.3.132.0.35" => "EC_secp521r1",
                    _ => throw Acm.Validation("private_key", $"The private key is not supported: EC keys on P-256, P-384 or P-521 are (this one is on {curve.Oid.FriendlyName ?? curve.Oid.Value})."),
                };
                var mine = key.ExportParameters(false).Q;
                var theirs = certificateKey.ExportParameters(false).Q;
                if (!mine.X.AsSpan().SequenceEqual(theirs.X) || !mine.Y.AsSpan().SequenceEqual(theirs.Y))
                {
                    throw Mismatch();
                }

                return (key.ExportPkcs8PrivateKeyPem(), algorithm);
            }

            default:
                throw Acm.Validation("certificate", $"The certificate's key algorithm ({leaf.PublicKey.Oid.FriendlyName ?? leaf.PublicKey.Oid.Value}) is not supported: RSA and EC (P-256, P-384, P-521) are.");
        }
    }

    private static void Import(AsymmetricAlgorithm key, string pem)
    {
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // An RSA certificate with an EC key (or the reverse), or a damaged key.
            throw Mismatch();
        }
    }

    private static StateException Mismatch() => Acm.Validation("private_key", "The private key does not match the public key in the certificate.");

    private static List<(string Label, byte[] Der)> PemBlocksOrEmpty(string pem)
    {
        try
        {
            return [.. PemBlocks(pem)];
        }
        catch (CryptographicException)
        {
            return [];
        }
    }

    private static ImmutableArray<string> DnsNames(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                return [.. san.EnumerateDnsNames().Distinct(StringComparer.OrdinalIgnoreCase)];
            }
        }

        return [];
    }

    /// <summary>ACM's spelling: <c>SHA256WITHRSA</c>, <c>SHA384WITHECDSA</c>.</summary>
    private static string SignatureAlgorithm(X509Certificate2 certificate)
    {
        var name = (certificate.SignatureAlgorithm.FriendlyName ?? certificate.SignatureAlgorithm.Value ?? "").ToUpperInvariant();
        foreach (var suffix in new[] { "ECDSA", "RSA" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && name.StartsWith("SHA", StringComparison.Ordinal))
            {
                return $"{name[..^suffix.Length]}WITH{suffix}";
            }
        }

        return name;
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.TestSupport;

/// <summary>A certificate and its key as PEM, as a user would import them; <see cref="ChainPem"/> holds its issuer when it has one.</summary>
public sealed record PemCertificate(string CertificatePem, string PrivateKeyPem, string ChainPem, string Thumbprint);

/// <summary>
/// Certificates made in the test with <see cref="CertificateRequest"/> (nothing checked in): self-signed or issued by
/// a test CA, RSA or ECDSA, valid now or expired.
/// </summary>
public static class TestCertificates
{
    /// <summary>A self-signed certificate for <paramref name="names"/> (the first is the common name).</summary>
    public static PemCertificate SelfSigned(string[] names, string key = "rsa2048", DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var asymmetric = NewKey(key);
        var request = Request(names, asymmetric);
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        using var certificate = request.CreateSelfSigned(from, to);
        return new PemCertificate(certificate.ExportCertificatePem(), ExportKey(asymmetric), "", certificate.Thumbprint);
    }

    /// <summary>
    /// A certificate for <paramref name="names"/> issued by a fresh intermediate CA ("CN=Berth Test Intermediate CA") of
    /// a fresh root ("CN=Berth Test Root CA"); the chain is the intermediate, then the root.
    /// </summary>
    public static PemCertificate Issued(string[] names)
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = RSA.Create(2048);
        var rootRequest = new CertificateRequest("CN=Berth Test Root CA", rootKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = rootRequest.CreateSelfSigned(now.AddDays(-2), now.AddDays(90));
        using var intermediateKey = RSA.Create(2048);
        var intermediateRequest = new CertificateRequest("CN=Berth Test Intermediate CA", intermediateKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var intermediatePublic = intermediateRequest.Create(root, now.AddDays(-1), now.AddDays(60), RandomNumberGenerator.GetBytes(8));
        using var intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
        using var key = RSA.Create(2048);
        var request = Request(names, key);
        using var certificate = request.Create(intermediate, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(8));
        return new PemCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(),
            intermediate.ExportCertificatePem() + "\n" + root.ExportCertificatePem(), certificate.Thumbprint);
    }

    private static AsymmetricAlgorithm NewKey(string key) => key switch
    {
        "rsa2048" => RSA.Create(2048),
        "rsa1536" => RSA.Create(1536),
        "p256" => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        "p384" => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "rsa2048, rsa1536, p256 or p384"),
    };

    private static CertificateRequest Request(string[] names, AsymmetricAlgorithm key)
    {
        var request = key switch
        {
            RSA rsa => new CertificateRequest($"CN={names[0]}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest($"CN={names[0]}", ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request;
    }

    private static string ExportKey(AsymmetricAlgorithm key) => key.ExportPkcs8PrivateKeyPem();
}

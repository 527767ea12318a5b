using System.Security.Cryptography;
using Berth.Core.IO;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Auth.Tokens;

/// <summary>
/// The registry's token-signing key: ECDSA P-256 (ES256), made on first start and kept as PEM under the data dir
/// (mode 0600), so tokens survive restarts. Its <c>kid</c> is the RFC 7638 JWK thumbprint.
/// </summary>
internal sealed class SigningKeyStore
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    public SigningKeyStore(string keyPath)
    {
#pragma warning disable CA2000 // the key is the store's Key for the life of the process (the store is a singleton).
        var ecdsa = ECDsa.Create();
#pragma warning restore CA2000
        if (File.Exists(keyPath))
        {
            ecdsa.ImportFromPem(File.ReadAllText(keyPath));
        }
        else
        {
            ecdsa.GenerateKey(ECCurve.NamedCurves.nistP256);
            OwnerOnlyFile.WriteAtomic(keyPath, ecdsa.ExportPkcs8PrivateKeyPem());
        }

        var key = new ECDsaSecurityKey(ecdsa);
        key.KeyId = Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key).ComputeJwkThumbprint());
        Key = key;
        Credentials = new SigningCredentials(key, Algorithm);
    }

    public ECDsaSecurityKey Key { get; }

    public SigningCredentials Credentials { get; }
}

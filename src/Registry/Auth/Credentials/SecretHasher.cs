using System.Security.Cryptography;
using System.Text;

namespace Berth.Registry.Auth.Credentials;

/// <summary>Random secrets (robot secrets, refresh tokens) and their stored form.</summary>
internal static class SecretHasher
{
    /// <summary>256 random bits, URL-safe base64: safe in a Basic header, a JSON body and a shell.</summary>
    public static string NewSecret() => Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Compares in constant time, so the time taken says nothing about how much of a secret matched.</summary>
    public static bool Matches(string secret, byte[] expectedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), expectedHash);

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

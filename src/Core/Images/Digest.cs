using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Berth.Core.Images;

/// <summary>
/// A content digest as the OCI image spec defines it: <c>algorithm ":" encoded</c>.
/// Only the registered algorithms <c>sha256</c> and <c>sha512</c> are accepted, with lower-case hex of the exact length,
/// so that one piece of content has exactly one spelling and a digest can safely become a file name.
/// </summary>
public readonly record struct Digest
{
    /// <summary>The sha256 algorithm name.</summary>
    public const string Sha256 = "sha256";

    /// <summary>The sha512 algorithm name.</summary>
    public const string Sha512 = "sha512";

    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    /// <summary>The algorithm, <c>sha256</c> or <c>sha512</c>.</summary>
    public string Algorithm { get; }

    /// <summary>The lower-case hex encoding of the hash.</summary>
    public string Hex { get; }

    /// <summary>Whether this is the default (empty) value rather than a parsed digest.</summary>
    public bool IsEmpty => Algorithm is null;

    /// <summary>Parses a digest, throwing <see cref="FormatException"/> when it is not valid.</summary>
    public static Digest Parse(string value) =>
        TryParse(value, out var digest) ? digest : throw new FormatException($"'{value}' is not a valid digest (expected sha256:<64 hex> or sha512:<128 hex>).");

    /// <summary>Parses a digest without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest)
    {
        digest = default;
        if (value is null || !TryValidate(value, out var algorithm))
        {
            return false;
        }

        digest = new Digest(algorithm, value[(algorithm.Length + 1)..]);
        return true;
    }

    /// <summary>Whether <paramref name="value"/> is a valid digest, checked without allocating (for request paths).</summary>
    public static bool IsValid(ReadOnlySpan<char> value) => TryValidate(value, out _);

    private static bool TryValidate(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? canonicalAlgorithm)
    {
        canonicalAlgorithm = null;
        var colon = value.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        var algorithm = value[..colon];
        var hex = value[(colon + 1)..];
        if (algorithm.SequenceEqual(Sha256))
        {
            canonicalAlgorithm = Sha256;
        }
        else if (algorithm.SequenceEqual(Sha512))
        {
            canonicalAlgorithm = Sha512;
        }
        else
        {
            return false;
        }

        if (hex.Length != HexLength(canonicalAlgorithm))
        {
            canonicalAlgorithm = null;
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                canonicalAlgorithm = null;
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="algorithm"/> is one this registry computes.</summary>
    public static bool IsSupportedAlgorithm(string? algorithm) => algorithm is Sha256 or Sha512;

    /// <summary>The hex length of a hash of the given algorithm.</summary>
    public static int HexLength(string algorithm) => algorithm == Sha512 ? 128 : 64;

    /// <summary>Computes the digest of <paramref name="content"/>.</summary>
    public static Digest Compute(ReadOnlySpan<byte> content, string algorithm = Sha256)
    {
        var hash = algorithm switch
        {
            Sha256 => SHA256.HashData(content),
            Sha512 => SHA512.HashData(content),
            _ => throw new ArgumentException($"Unsupported digest algorithm '{algorithm}'.", nameof(algorithm)),
        };
        return FromHash(algorithm, hash);
    }

    /// <summary>Builds a digest from a finished hash.</summary>
    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) =>
        new(algorithm, Convert.ToHexStringLower(hash));

    /// <summary>Creates the incremental hash that matches <paramref name="algorithm"/>.</summary>
    public static IncrementalHash CreateHash(string algorithm) => algorithm switch
    {
        Sha256 => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        Sha512 => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new ArgumentException($"Unsupported digest algorithm '{algorithm}'.", nameof(algorithm)),
    };

    /// <inheritdoc />
    public override string ToString() => IsEmpty ? string.Empty : $"{Algorithm}:{Hex}";
}

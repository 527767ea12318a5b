using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Scheduler.Security;

/// <summary>
/// One-use join tokens: one per host Berth makes itself (host groups), bound to the host's cluster. A token is void once
/// a registration used it, or when its host is destroyed; the cluster-wide join token (<see cref="ApiTokens"/>) keeps
/// working beside them. Kept in memory only, by hash: a create in flight does not survive a scheduler restart (the host
/// group's reconciler destroys such half-made hosts), so neither need its token.
/// </summary>
internal sealed class HostJoinTokens
{
    private const string Prefix = "berth_hostjoin_";

    // SHA-256 of the token (hex) -> whom it was issued for.
    private readonly ConcurrentDictionary<string, (string Cluster, string Host)> _issued = new(StringComparer.Ordinal);

    /// <summary>Issues a token for host <paramref name="host"/> joining <paramref name="cluster"/>, voiding any earlier one of that host.</summary>
    public string Issue(string cluster, string host)
    {
        Void(host);
        var token = Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        _issued[Hash(token)] = (cluster, host);
        return token;
    }

    /// <summary>Whether a bearer value has the shape of a one-use join token (not whether it is valid).</summary>
    public static bool LooksLikeToken(string value) => value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Uses the token for a registration with <paramref name="cluster"/>: the host it was issued for, and the token is
    /// void from now on; null when it is not a valid token. A token for another cluster is refused and stays valid.
    /// </summary>
    public string? Redeem(string token, string cluster, out string? issuedFor)
    {
        issuedFor = null;
        if (!LooksLikeToken(token))
        {
            return null;
        }

        var hash = Hash(token);
        if (!_issued.TryGetValue(hash, out var entry))
        {
            return null;
        }

        if (entry.Cluster != cluster)
        {
            issuedFor = entry.Cluster;
            return null;
        }

        // Only one of two racing registrations wins the removal.
        return _issued.TryRemove(new KeyValuePair<string, (string, string)>(hash, entry)) ? entry.Host : null;
    }

    /// <summary>Whether the token is one this scheduler issued and nobody used yet.</summary>
    public bool IsValid(string token) => LooksLikeToken(token) && _issued.ContainsKey(Hash(token));

    /// <summary>Voids the token of host <paramref name="host"/> (it is destroyed, or its create is over).</summary>
    public void Void(string host)
    {
        foreach (var (hash, entry) in _issued)
        {
            if (entry.Host == host)
            {
                _issued.TryRemove(hash, out _);
            }
        }
    }

    /// <summary>Tokens issued and not used nor voided (tests, and a sign of leaks).</summary>
    public int Outstanding => _issued.Count;

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}

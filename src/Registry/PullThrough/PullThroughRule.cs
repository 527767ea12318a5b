using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Berth.Registry.PullThrough;

/// <summary>
/// A pull-through cache rule (ECR's PullThroughCacheRule): a pull of <c>PREFIX/REPO</c> that this registry cannot
/// answer is answered from <c>REPO</c> at the upstream registry, and what it fetched is kept.
/// </summary>
/// <param name="Prefix">ECR's <c>ecrRepositoryPrefix</c>, a whole first part (or parts) of repository names.</param>
/// <param name="UpstreamUrl">The upstream registry's base URL, ending in <c>/</c>.</param>
/// <param name="Username">A user or robot of the upstream; null for anonymous pulls.</param>
/// <param name="Password">Its password or token (stored like replication's destination passwords, never shown).</param>
internal sealed record PullThroughRule(string Prefix, Uri UpstreamUrl, string? Username, string? Password, DateTime CreatedAt, DateTime UpdatedAt)
{
    /// <summary>The rule's answer to a repository name: the repository to pull upstream, or false when it is not under the prefix.</summary>
    public bool TryMap(ReadOnlySpan<char> repository, out ReadOnlySpan<char> upstream)
    {
        upstream = default;
        if (repository.Length <= Prefix.Length + 1 || repository[Prefix.Length] != '/' || !repository.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        upstream = repository[(Prefix.Length + 1)..];
        return true;
    }
}

/// <summary>The repository a pull names, resolved against the rule that covers it.</summary>
internal readonly record struct CacheMatch(PullThroughRule Rule, string Repository, string UpstreamRepository);

/// <summary>
/// The rules in force, in memory (loaded at start, replaced whole on every change): every request to a repository
/// asks <see cref="TryMatch"/>, which with no rule is one volatile read.
/// </summary>
internal sealed class PullThroughRules
{
    private volatile PullThroughRule[] _rules = [];

    public IReadOnlyList<PullThroughRule> Current => _rules;

    public void Set(IEnumerable<PullThroughRule> rules) => _rules = [.. rules.OrderBy(r => r.Prefix, StringComparer.Ordinal)];

    /// <summary>The rule whose prefix covers <paramref name="repository"/>; prefixes never nest (the API refuses it), so at most one does.</summary>
    public bool TryMatch(ReadOnlySpan<char> repository, [NotNullWhen(true)] out PullThroughRule? rule)
    {
        foreach (var candidate in _rules)
        {
            if (candidate.TryMap(repository, out _))
            {
                rule = candidate;
                return true;
            }
        }

        rule = null;
        return false;
    }
}

/// <summary>ECR's checks of a CreatePullThroughCacheRule request, worded as ECR words them.</summary>
internal static partial class PullThroughRuleValidation
{
    // ECR's ecrRepositoryPrefix: 2-30 characters, repository-name parts separated by slashes.
    [GeneratedRegex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")]
    private static partial Regex PrefixPattern();

    public static bool TryValidatePrefix(string? prefix, [NotNullWhen(false)] out string? problem)
    {
        problem = prefix switch
        {
            null or "" => "Invalid parameter at 'ecrRepositoryPrefix': the prefix is required",
            { Length: < 2 or > 30 } => $"1 validation error detected: Value '{prefix}' at 'ecrRepositoryPrefix' failed to satisfy constraint: Member must have length between 2 and 30",
            _ when !PrefixPattern().IsMatch(prefix) => $"1 validation error detected: Value '{prefix}' at 'ecrRepositoryPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*",
            _ => null,
        };
        return problem is null;
    }

    /// <summary>
    /// The upstream as a base URL: <c>http(s)://host[:port][/path]</c>, or a bare <c>host[:port]</c> as ECR takes it
    /// (<c>registry-1.docker.io</c>), which means https.
    /// </summary>
    public static bool TryParseUpstream(string? value, [NotNullWhen(true)] out Uri? url, [NotNullWhen(false)] out string? problem)
    {
        url = null;
        problem = null;
        if (string.IsNullOrWhiteSpace(value) || value.Length > 2048)
        {
            problem = "Invalid parameter at 'upstreamRegistryUrl': give the upstream registry's URL (https://host[:port]), at most 2,048 characters";
            return false;
        }

        var text = value.Contains("://", StringComparison.Ordinal) ? value : "https://" + value;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https")
            || parsed.Query.Length > 0 || parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0 || parsed.Host.Length == 0)
        {
            problem = $"Invalid parameter at 'upstreamRegistryUrl': '{value}' is not an http(s) registry URL without a query or credentials";
            return false;
        }

        url = new Uri(parsed.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
        return true;
    }
}

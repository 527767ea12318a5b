using Berth.Registry.Auth.Scopes;

namespace Berth.Registry.Auth;

/// <summary>
/// The public namespaces, held in memory because every anonymous pull asks. Loaded at start and replaced whenever
/// the admin API changes them (one registry process owns its auth database).
/// </summary>
internal sealed class PublicNamespaceCache
{
    private volatile string[] _patterns = [];

    public void Replace(IEnumerable<string> patterns) => _patterns = [.. patterns];

    public bool IsPublic(ReadOnlySpan<char> repository)
    {
        foreach (var pattern in _patterns)
        {
            if (NamespacePattern.Matches(pattern, repository))
            {
                return true;
            }
        }

        return false;
    }
}

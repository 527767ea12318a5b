using System.Security.Claims;
using Berth.Registry.Auth.Scopes;

namespace Berth.Registry.Auth.Tokens;

/// <summary>
/// A validated bearer token: who it speaks for and the access it grants, parsed once when the token is first
/// validated and then shared by every request that presents the same token.
/// </summary>
internal sealed class RegistryTokenIdentity(ClaimsIdentity validated, string subject, IReadOnlyList<ResourceScope> access, DateTimeOffset expiresAt)
    : ClaimsIdentity(validated)
{
    // An array, so the check on every request walks it without an enumerator allocated behind the interface.
    private readonly ResourceScope[] _access = [.. access];

    /// <summary>When the token stops being valid.</summary>
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>The principal name, or empty for an anonymous token.</summary>
    public string Subject { get; } = subject;

    public IReadOnlyList<ResourceScope> Access => _access;

    public bool Allows(string type, ReadOnlySpan<char> name, RegistryActions action)
    {
        foreach (var scope in _access)
        {
            if ((scope.Actions & action) == action && scope.Type == type && name.SequenceEqual(scope.Name))
            {
                return true;
            }
        }

        return false;
    }
}

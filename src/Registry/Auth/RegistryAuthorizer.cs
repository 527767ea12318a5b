using System.Collections.Concurrent;
using System.Text;
using Berth.Registry.Access;
using Berth.Registry.Auth.Accounts;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Auth.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Auth;

/// <summary>
/// The registry's access policy under token auth: the bearer token must grant the scope the request needs.
/// Checked once, when the request starts, so a push that outlives its token is not cut off halfway.
/// </summary>
internal sealed class RegistryAuthorizer(IOptions<AuthOptions> options, PublicNamespaceCache publicNamespaces, TimeProvider time) : IRegistryAccessPolicy
{
    private const int MaxCachedTokens = 10_000;
    private static readonly object s_rulesKey = new();

    // Authorization header -> the identity JwtBearer validated for it. A client sends one token on every request of
    // a pull or push; going through the authentication handler each time costs more than the request itself.
    private readonly ConcurrentDictionary<string, RegistryTokenIdentity> _validated = new(TokenHeaderComparer.Instance);

    public async ValueTask<AccessDecision> CheckAsync(HttpContext context, ReadOnlyMemory<char> repository, RegistryAction action)
    {
        if (!options.Value.Enabled)
        {
            return AccessDecision.Allow;
        }

        // Public namespaces are readable with no token at all: anonymous pulls and curl need no round trip.
        if (action == RegistryAction.Pull && publicNamespaces.IsPublic(repository.Span))
        {
            return AccessDecision.Allow;
        }

        var identity = await AuthenticateCachedAsync(context);
        if (identity is null)
        {
            return AccessDecision.Unauthorized;
        }

        var allowed = action switch
        {
            RegistryAction.Base => true,
            RegistryAction.Catalog => identity.Allows(ResourceScope.RegistryType, ResourceScope.CatalogName, RegistryActions.Pull),
            RegistryAction.Pull => identity.Allows(ResourceScope.RepositoryType, repository.Span, RegistryActions.Pull),
            RegistryAction.Push => identity.Allows(ResourceScope.RepositoryType, repository.Span, RegistryActions.Push),
            RegistryAction.Delete => identity.Allows(ResourceScope.RepositoryType, repository.Span, RegistryActions.Delete),
            _ => false,
        };
        return allowed ? AccessDecision.Allow : AccessDecision.Denied;
    }

    public void AddChallenge(HttpContext context, IReadOnlyList<AccessScope> scopes, AccessDecision decision)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var challenge = new StringBuilder("Bearer realm=\"").Append(Realm(context)).Append("\",service=\"").Append(options.Value.Service).Append('"');
        // The token spec's scope parameter holds every scope the request needs, separated by spaces (as distribution
        // writes it): a mount names its source's pull next to its target's push.
        var first = true;
        foreach (var scope in scopes)
        {
            if (ScopeOf(scope) is not { } text)
            {
                continue;
            }

            challenge.Append(first ? ",scope=\"" : " ").Append(text);
            first = false;
        }

        if (!first)
        {
            challenge.Append('"');
        }

        if (decision == AccessDecision.Denied)
        {
            challenge.Append(",error=\"insufficient_scope\"");
        }

        context.Response.Headers.WWWAuthenticate = challenge.ToString();
    }

    public async ValueTask<bool> MayPullAsync(HttpContext context, ReadOnlyMemory<char> repository)
    {
        if (await CheckAsync(context, repository, RegistryAction.Pull) == AccessDecision.Allow)
        {
            return true;
        }

        var rules = await AccessRulesAsync(context);
        return (rules.AllowedOn(repository.ToString()) & RegistryActions.Pull) != 0;
    }

    public async ValueTask<Func<string, bool>?> CatalogFilterAsync(HttpContext context)
    {
        if (!options.Value.Enabled)
        {
            return null;
        }

        var rules = await AccessRulesAsync(context);
        return repository => (rules.AllowedOn(repository) & RegistryActions.Pull) != 0;
    }

    public string ClientKey(HttpContext context) =>
        _validated.TryGetValue(context.Request.Headers.Authorization.ToString(), out var identity) && identity.Subject.Length > 0
            ? "principal:" + identity.Subject
            : "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    /// <summary>
    /// The request's validated token. Each distinct token goes through JwtBearer once; later requests carrying it
    /// reuse that result until the token expires.
    /// </summary>
    private async ValueTask<RegistryTokenIdentity?> AuthenticateCachedAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (_validated.TryGetValue(header, out var cached))
        {
            if (cached.ExpiresAt > time.GetUtcNow())
            {
                return cached;
            }

            _validated.TryRemove(header, out _);
        }

        var identity = await AuthenticateAsync(context);
        if (identity is not null)
        {
            if (_validated.Count >= MaxCachedTokens)
            {
                // Bounded and crude: dropping everything costs one more validation per live token.
                _validated.Clear();
            }

            _validated[header] = identity;
        }

        return identity;
    }

    /// <summary>The validated bearer token of the request, or null.</summary>
    public static async ValueTask<RegistryTokenIdentity?> AuthenticateAsync(HttpContext context)
    {
        if (!context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        return result.Succeeded ? result.Principal?.Identity as RegistryTokenIdentity : null;
    }

    private static string? ScopeOf(AccessScope scope) => scope.Action switch
    {
        RegistryAction.Catalog => "registry:catalog:*",
        RegistryAction.Pull => $"repository:{scope.Repository}:pull",
        // Docker asks for pull and push together when it pushes.
        RegistryAction.Push => $"repository:{scope.Repository}:pull,push",
        RegistryAction.Delete => $"repository:{scope.Repository}:delete",
        _ => null,
    };

    /// <summary>
    /// What the caller's account (or an anonymous caller) may do, from the account store: read once per request,
    /// because a mount without a source asks for every repository that holds the blob.
    /// </summary>
    private async ValueTask<AccessRules> AccessRulesAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(s_rulesKey, out var cached) && cached is AccessRules known)
        {
            return known;
        }

        var identity = await AuthenticateCachedAsync(context);
        var accounts = context.RequestServices.GetRequiredService<AccountStore>();
        var principal = identity is { Subject.Length: > 0 } ? await accounts.FindPrincipalAsync(identity.Subject, context.RequestAborted) : null;
        var rules = await accounts.LoadAccessRulesAsync(principal, context.RequestAborted);
        context.Items[s_rulesKey] = rules;
        return rules;
    }

    private string Realm(HttpContext context)
    {
        var configured = options.Value.Realm;
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var request = context.Request;
        var scheme = request.Headers["X-Forwarded-Proto"].FirstOrDefault() ?? request.Scheme;
        var host = request.Headers["X-Forwarded-Host"].FirstOrDefault() ?? request.Host.Value;
        return $"{scheme}://{host}{TokenEndpoint.Path}";
    }

    /// <summary>
    /// Hashes only the end of the header, which is the token's signature (ES256: 86 base64url characters, random per
    /// token), instead of all ~500-2000 characters on every request; equality still compares the whole header, so a
    /// forged token that shares a signature never matches a validated one. Only validated tokens enter the cache, so
    /// nobody can fill a bucket with colliding junk.
    /// </summary>
    private sealed class TokenHeaderComparer : IEqualityComparer<string>
    {
        private const int HashedSuffix = 48;

        public static readonly TokenHeaderComparer Instance = new();

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string header) => string.GetHashCode(header.AsSpan(Math.Max(0, header.Length - HashedSuffix)));
    }
}

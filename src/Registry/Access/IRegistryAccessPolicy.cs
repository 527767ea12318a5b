namespace Berth.Registry.Access;

/// <summary>What a request wants to do; token auth maps these to JWT scope actions.</summary>
internal enum RegistryAction
{
    /// <summary><c>GET /v2/</c>: the API version check (where a client learns it must authenticate).</summary>
    Base,

    /// <summary>Read blobs, manifests, tags, referrers (scope action <c>pull</c>).</summary>
    Pull,

    /// <summary>Upload blobs, put manifests (scope action <c>push</c>).</summary>
    Push,

    /// <summary>Delete blobs, manifests, tags (scope action <c>delete</c>).</summary>
    Delete,

    /// <summary>List repositories (<c>registry:catalog:*</c>).</summary>
    Catalog,
}

/// <summary>The outcome of an access check.</summary>
internal enum AccessDecision
{
    Allow,

    /// <summary>No (valid) credentials: 401 UNAUTHORIZED; the policy adds its <c>WWW-Authenticate</c> challenge.</summary>
    Unauthorized,

    /// <summary>
    /// Authenticated, but the credentials do not cover the request: 401 DENIED with <c>error="insufficient_scope"</c>
    /// and the needed scope in the challenge (a 403 would end the request: clients fetch a better token only on 401).
    /// </summary>
    Denied,
}

/// <summary>One access a request needs: <paramref name="Action"/> on <paramref name="Repository"/> (empty for base and catalog).</summary>
internal readonly record struct AccessScope(ReadOnlyMemory<char> Repository, RegistryAction Action);

/// <summary>
/// The one seam for authentication and authorization: every request resolves its repository and action and
/// asks this before any storage is touched. A cross-repository mount also asks for <see cref="RegistryAction.Pull"/>
/// on the source repository (and a mount without a source, for each repository that holds the blob, through
/// <see cref="MayPullAsync"/>). The default allows everything; token auth replaces it.
/// </summary>
internal interface IRegistryAccessPolicy
{
    /// <param name="context">The request (credentials, and the response for challenge headers).</param>
    /// <param name="repository">The repository name (empty for <see cref="RegistryAction.Base"/> and <see cref="RegistryAction.Catalog"/>).</param>
    /// <param name="action">What the request needs.</param>
    ValueTask<AccessDecision> CheckAsync(HttpContext context, ReadOnlyMemory<char> repository, RegistryAction action);

    /// <summary>
    /// Adds the policy's challenge (<c>WWW-Authenticate</c>) to a response that refuses the request, naming every scope
    /// in <paramref name="scopes"/> (a cross-repository mount needs push on its target and pull on its source). Separate
    /// from <see cref="CheckAsync"/> because some checks (a mount's source) fall back quietly instead of refusing.
    /// </summary>
    void AddChallenge(HttpContext context, IReadOnlyList<AccessScope> scopes, AccessDecision decision)
    {
    }

    /// <summary>
    /// Whether the caller's account may pull <paramref name="repository"/>, whatever its present credentials grant: a
    /// caller that may gets a challenge to fetch credentials for it, one that may not a quiet fallback (a mount becomes
    /// an upload). The default knows no more than <see cref="CheckAsync"/>.
    /// </summary>
    async ValueTask<bool> MayPullAsync(HttpContext context, ReadOnlyMemory<char> repository) =>
        await CheckAsync(context, repository, RegistryAction.Pull) == AccessDecision.Allow;

    /// <summary>Who the caller is for per-client limits: its address unless the policy knows better.</summary>
    string ClientKey(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>Which repositories the caller may see in the catalog; null when it may see all of them.</summary>
    ValueTask<Func<string, bool>?> CatalogFilterAsync(HttpContext context) => ValueTask.FromResult<Func<string, bool>?>(null);
}

/// <summary>Allows everything: the registry before token auth exists.</summary>
internal sealed class AllowAllAccessPolicy : IRegistryAccessPolicy
{
    public ValueTask<AccessDecision> CheckAsync(HttpContext context, ReadOnlyMemory<char> repository, RegistryAction action) =>
        ValueTask.FromResult(AccessDecision.Allow);
}

using System.Collections.Concurrent;
using System.Text.Json;
using Berth.Registry.Auth.Scopes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Auth.Tokens;

/// <summary>
/// The token handler JwtBearer validates with. A client presents the same token on hundreds of requests (every
/// layer of a pull), and an ES256 verification costs more than serving a HEAD; so each token is verified once,
/// its access parsed once, and the result reused until the token expires.
/// </summary>
internal sealed class CachingTokenHandler(TimeProvider time) : JsonWebTokenHandler
{
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, TokenValidationResult> _validated = new(StringComparer.Ordinal);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_validated.TryGetValue(token, out var cached))
        {
            if (cached.SecurityToken.ValidTo > time.GetUtcNow().UtcDateTime)
            {
                return cached;
            }

            _validated.TryRemove(token, out _);
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            // Failures are not cached: a forged token must not be able to fill the cache.
            return result;
        }

        result.ClaimsIdentity = new RegistryTokenIdentity(result.ClaimsIdentity, jwt.Subject ?? string.Empty, ParseAccess(jwt), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        if (_validated.Count >= MaxEntries)
        {
            // Crude but bounded: dropping everything costs one re-verification per live token.
            _validated.Clear();
        }

        _validated[token] = result;
        return result;
    }

    private static List<ResourceScope> ParseAccess(JsonWebToken jwt)
    {
        var scopes = new List<ResourceScope>();
        if (!jwt.TryGetPayloadValue<JsonElement>(TokenIssuer.AccessClaim, out var access) || access.ValueKind != JsonValueKind.Array)
        {
            return scopes;
        }

        foreach (var entry in access.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var granted = RegistryActions.None;
            foreach (var action in actions.EnumerateArray())
            {
                if (action.ValueKind == JsonValueKind.String)
                {
                    granted |= RegistryActionNames.Parse(action.GetString());
                }
            }

            scopes.Add(new ResourceScope(type.GetString()!, name.GetString()!, granted));
        }

        return scopes;
    }
}

using System.Text.Json;
using Berth.Registry.Auth.Scopes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Auth.Tokens;

/// <summary>
/// The token handler JwtBearer validates with: the stock JWT validation, plus the token's <c>access</c> claim parsed
/// once into a <see cref="RegistryTokenIdentity"/>. Reuse of validated tokens across requests lives in one place,
/// <see cref="RegistryAuthorizer"/>, keyed by the Authorization header.
/// </summary>
internal sealed class RegistryTokenHandler : JsonWebTokenHandler
{
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
        {
            result.ClaimsIdentity = new RegistryTokenIdentity(result.ClaimsIdentity, jwt.Subject ?? string.Empty, ParseAccess(jwt), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
        }

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

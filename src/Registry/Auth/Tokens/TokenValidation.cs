using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Auth.Tokens;

/// <summary>How bearer tokens are validated: our issuer, our service as audience, our key, ES256 only, not expired.</summary>
internal static class TokenValidation
{
    public static TokenValidationParameters Parameters(SigningKeyStore keys, AuthOptions options, TokenIssuer issuer) => new()
    {
        ValidIssuer = options.Issuer,
        ValidAudience = options.Service,
        IssuerSigningKey = keys.Key,
        // Pinning the algorithm is what makes "alg: none" and HMAC-with-the-public-key tokens fail.
        ValidAlgorithms = [SigningKeyStore.Algorithm],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateIssuerSigningKey = true,
        LifetimeValidator = (notBefore, expires, _, _) => issuer.ValidateLifetime(notBefore, expires),
        NameClaimType = "sub",
    };
}

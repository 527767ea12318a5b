using System.Security.Claims;
using System.Text.Json;
using Berth.Registry.Auth.Scopes;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Berth.Registry.Auth.Tokens;

/// <summary>An issued bearer token with the fields the token spec's response carries.</summary>
internal sealed record IssuedToken(string Token, int ExpiresIn, DateTimeOffset IssuedAt);

/// <summary>Signs the JWTs of the Docker token spec, and the ECR-style login passwords.</summary>
internal sealed class TokenIssuer(SigningKeyStore keys, IOptions<AuthOptions> options, TimeProvider time)
{
    public const string AccessClaim = "access";

    /// <summary>The audience of login passwords: never the registry's own, so one is useless as a bearer token.</summary>
    public string LoginAudience => options.Value.Service + "/login";

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public IssuedToken IssueAccessToken(string subject, IReadOnlyList<ResourceScope> access)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            [AccessClaim] = JsonSerializer.SerializeToElement(
                access.Select(a => new AccessEntry(a.Type, a.Name, a.IsCatalog ? ["*"] : RegistryActionNames.ToNames(a.Actions))).ToList(),
                AccessJson.Default.ListAccessEntry),
        };
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Service,
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, subject)]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + settings.TokenLifetime).UtcDateTime,
            Claims = claims,
            SigningCredentials = keys.Credentials,
        });
        return new IssuedToken(token, (int)settings.TokenLifetime.TotalSeconds, now);
    }

    public (string Password, DateTimeOffset ExpiresAt) IssueLoginPassword(string subject)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var expires = now + settings.LoginPasswordLifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = LoginAudience,
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, subject)]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N") },
            SigningCredentials = keys.Credentials,
        });
        return (token, expires);
    }

    /// <summary>The subject of a valid, unexpired login password, or null.</summary>
    public async Task<string?> ValidateLoginPasswordAsync(string password)
    {
        // Cheap shape check first: a user's ordinary password must not cost a signature verification.
        if (!password.StartsWith("eyJ", StringComparison.Ordinal) || password.Count(c => c == '.') != 2)
        {
            return null;
        }

        var settings = options.Value;
        var result = await _handler.ValidateTokenAsync(password, new TokenValidationParameters
        {
            ValidIssuer = settings.Issuer,
            ValidAudience = LoginAudience,
            IssuerSigningKey = keys.Key,
            ValidAlgorithms = [SigningKeyStore.Algorithm],
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) => ValidateLifetime(notBefore, expires),
        });
        return result.IsValid && result.Claims.TryGetValue(JwtRegisteredClaimNames.Sub, out var sub) ? sub as string : null;
    }

    /// <summary>Lifetime checked against the injected clock, so tests can move time.</summary>
    public bool ValidateLifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var skew = TimeSpan.FromSeconds(30);
        return expires is { } e && e + skew > now && (notBefore is not { } n || n - skew <= now);
    }
}

internal sealed record AccessEntry(string Type, string Name, List<string> Actions);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<AccessEntry>))]
internal sealed partial class AccessJson : System.Text.Json.Serialization.JsonSerializerContext;

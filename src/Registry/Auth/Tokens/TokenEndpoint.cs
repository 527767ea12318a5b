using System.Globalization;
using Berth.Registry.Auth.Accounts;
using Berth.Registry.Errors;
using Berth.Registry.Auth.Credentials;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Auth.Throttling;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Auth.Tokens;

/// <summary>
/// The token endpoint of the Docker token spec. GET: Basic credentials (or none, for anonymous), repeated
/// <c>scope</c>, <c>offline_token=true</c> for a refresh token. POST: the OAuth2 form with <c>grant_type</c>
/// <c>password</c> or <c>refresh_token</c>. The token grants the intersection of what was asked and what is allowed.
/// </summary>
internal static partial class TokenEndpoint
{
    public const string Path = "/auth/token";

    public static IEndpointRouteBuilder MapTokenEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, GetAsync);
        endpoints.MapPost(Path, PostAsync).DisableAntiforgery();
        return endpoints;
    }

    private static async Task GetAsync(HttpContext context, AccountStore accounts, CredentialVerifier verifier, TokenIssuer issuer, LoginThrottle throttle, IOptions<AuthOptions> options, ILoggerFactory loggers)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        if (await AuthErrors.RefuseIfThrottledAsync(context, throttle))
        {
            return;
        }

        Principal? principal = null;
        var basic = CredentialVerifier.ReadBasic(request.Headers.Authorization);
        if (basic is { } credentials)
        {
            principal = await verifier.VerifyAsync(credentials.Username, credentials.Password, cancellationToken);
            if (principal is null)
            {
                await RefuseCredentialsAsync(context, throttle, loggers, credentials.Username);
                return;
            }

            throttle.RecordSuccess(context.Connection.RemoteIpAddress);
        }

        var scopes = ResourceScope.ParseAll(request.Query["scope"]);
        var rules = await accounts.LoadAccessRulesAsync(principal, cancellationToken);
        var issued = issuer.IssueAccessToken(principal?.Name ?? string.Empty, rules.Grant(scopes));
        string? refresh = null;
        if (principal is not null && string.Equals(request.Query["offline_token"], "true", StringComparison.OrdinalIgnoreCase))
        {
            refresh = await accounts.IssueRefreshTokenAsync(principal.Name, options.Value.RefreshTokenLifetime, cancellationToken);
        }

        await context.Response.WriteAsJsonAsync(
            new TokenResponse(issued.Token, issued.Token, issued.ExpiresIn, FormatTime(issued.IssuedAt), refresh, Scope: null),
            TokenJson.Default.TokenResponse,
            cancellationToken: cancellationToken);
    }

    private static async Task PostAsync(HttpContext context, AccountStore accounts, CredentialVerifier verifier, TokenIssuer issuer, LoginThrottle throttle, IOptions<AuthOptions> options, ILoggerFactory loggers)
    {
        var cancellationToken = context.RequestAborted;
        if (!context.Request.HasFormContentType)
        {
            await AuthErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, "the token endpoint takes an application/x-www-form-urlencoded body");
            return;
        }

        if (await AuthErrors.RefuseIfThrottledAsync(context, throttle))
        {
            return;
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        var grantType = form["grant_type"].ToString();
        Principal? principal;
        string? refresh = null;
        switch (grantType)
        {
            case "password":
                var username = form["username"].ToString();
                principal = await verifier.VerifyAsync(username, form["password"].ToString(), cancellationToken);
                if (principal is null)
                {
                    await RefuseCredentialsAsync(context, throttle, loggers, username);
                    return;
                }

                if (string.Equals(form["access_type"], "offline", StringComparison.Ordinal))
                {
                    refresh = await accounts.IssueRefreshTokenAsync(principal.Name, options.Value.RefreshTokenLifetime, cancellationToken);
                }

                break;
            case "refresh_token":
                var name = await accounts.RedeemRefreshTokenAsync(form["refresh_token"].ToString(), cancellationToken);
                principal = name is null ? null : await accounts.FindPrincipalAsync(name, cancellationToken);
                if (principal is null)
                {
                    await RefuseCredentialsAsync(context, throttle, loggers, name ?? "(refresh token)");
                    return;
                }

                break;
            default:
                await AuthErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.Unsupported, $"grant_type '{grantType}' is not supported; use password or refresh_token");
                return;
        }

        throttle.RecordSuccess(context.Connection.RemoteIpAddress);
        var rules = await accounts.LoadAccessRulesAsync(principal, cancellationToken);
        var granted = rules.Grant(ResourceScope.ParseAll(form["scope"]));
        var issued = issuer.IssueAccessToken(principal.Name, granted);
        await context.Response.WriteAsJsonAsync(
            new TokenResponse(Token: null, issued.Token, issued.ExpiresIn, FormatTime(issued.IssuedAt), refresh, string.Join(' ', granted)),
            TokenJson.Default.TokenResponse,
            cancellationToken: cancellationToken);
    }

    private static async Task RefuseCredentialsAsync(HttpContext context, LoginThrottle throttle, ILoggerFactory loggers, string username)
    {
        throttle.RecordFailure(context.Connection.RemoteIpAddress);
        LogFailedLogin(loggers.CreateLogger(typeof(TokenEndpoint).FullName!), username, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        await AuthErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "incorrect username or password");
    }

    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Failed login for {Username} from {ClientAddress}")]
    private static partial void LogFailedLogin(ILogger logger, string username, string clientAddress);
}

/// <summary>The token response; GET answers carry <c>token</c> and <c>access_token</c>, POST answers the OAuth2 fields.</summary>
internal sealed record TokenResponse(
    [property: System.Text.Json.Serialization.JsonPropertyName("token")] string? Token,
    [property: System.Text.Json.Serialization.JsonPropertyName("access_token")] string AccessToken,
    [property: System.Text.Json.Serialization.JsonPropertyName("expires_in")] int ExpiresIn,
    [property: System.Text.Json.Serialization.JsonPropertyName("issued_at")] string IssuedAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("refresh_token")] string? RefreshToken,
    [property: System.Text.Json.Serialization.JsonPropertyName("scope")] string? Scope);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(TokenResponse))]
internal sealed partial class TokenJson : System.Text.Json.Serialization.JsonSerializerContext;

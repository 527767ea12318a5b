using System.Text;
using Berth.Registry.Auth.Scopes;
using Berth.Registry.Auth.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Auth;

/// <summary>
/// Decides, when a registry request starts, whether its bearer token covers what the request needs, and otherwise
/// answers with the token spec's challenge. Checked once per request: a push that outlives its token is not cut off.
/// </summary>
internal sealed class RegistryAuthorizer(IOptions<AuthOptions> options, PublicNamespaceCache publicNamespaces)
{
    /// <summary>Whether the request may go on; when not, the 401 challenge has been written.</summary>
    public async ValueTask<bool> AuthorizeAsync(HttpContext context, ResourceScope? needed)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return true;
        }

        // Public namespaces are readable with no token at all: curl and anonymous pulls need no round trip.
        if (needed is { Type: ResourceScope.RepositoryType, Actions: RegistryActions.Pull } && publicNamespaces.IsPublic(needed.Name))
        {
            return true;
        }

        var identity = await AuthenticateAsync(context);
        if (identity is not null && (needed is null || identity.Allows(needed.Type, needed.Name, needed.Actions)))
        {
            return true;
        }

        await ChallengeAsync(context, needed, identity is not null);
        return false;
    }

    /// <summary>The validated token of the request, or null.</summary>
    public static async ValueTask<RegistryTokenIdentity?> AuthenticateAsync(HttpContext context)
    {
        if (!context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        return result.Succeeded ? result.Principal?.Identity as RegistryTokenIdentity : null;
    }

    public Task ChallengeAsync(HttpContext context, ResourceScope? needed, bool hadValidToken)
    {
        var settings = options.Value;
        var challenge = new StringBuilder("Bearer realm=\"").Append(Realm(context)).Append("\",service=\"").Append(settings.Service).Append('"');
        if (needed is not null)
        {
            // Docker asks for pull and push together when pushing; asking for exactly what is missing is enough.
            challenge.Append(",scope=\"").Append(needed).Append('"');
        }

        if (hadValidToken)
        {
            challenge.Append(",error=\"insufficient_scope\"");
        }

        context.Response.Headers.WWWAuthenticate = challenge.ToString();
        return hadValidToken
            ? AuthErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, AuthErrors.Denied, "requested access to the resource is denied", Detail(needed))
            : AuthErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, AuthErrors.Unauthorized, "authentication required", Detail(needed));
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

    private static List<AccessDetail>? Detail(ResourceScope? needed) => needed is null
        ? null
        : [.. RegistryActionNames.ToNames(needed.Actions).Select(a => new AccessDetail(needed.Type, needed.Name, a))];

    // Distribution's error detail for a refused access: what exactly was missing.
    private sealed record AccessDetail(string Type, string Name, string Action);
}

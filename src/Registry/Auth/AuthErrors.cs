using System.Globalization;
using Berth.Registry.Auth.Throttling;
using Berth.Registry.Errors;

namespace Berth.Registry.Auth;

/// <summary>Errors of the auth endpoints, in the same spec format as the registry's, so docker prints their message.</summary>
internal static class AuthErrors
{
    public static Task WriteAsync(HttpContext context, int status, string code, string message) =>
        ErrorWriter.WriteAsync(context, status, [new RegistryError(code, message)]);

    /// <summary>
    /// When the client's address is throttled for failed logins: writes 429 <c>TOOMANYREQUESTS</c> with
    /// <c>Retry-After</c> (whole seconds, at least 1) and returns true. The token endpoint and the admin API both
    /// check credentials, so both refuse the same way.
    /// </summary>
    public static async Task<bool> RefuseIfThrottledAsync(HttpContext context, LoginThrottle throttle)
    {
        if (throttle.RetryAfter(context.Connection.RemoteIpAddress) is not { } wait)
        {
            return false;
        }

        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await WriteAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyRequests, "too many failed logins from this address; retry later");
        return true;
    }
}

using Berth.Registry.Errors;

namespace Berth.Registry.Auth;

/// <summary>Errors of the auth endpoints, in the same spec format as the registry's, so docker prints their message.</summary>
internal static class AuthErrors
{
    public static Task WriteAsync(HttpContext context, int status, string code, string message) =>
        ErrorWriter.WriteAsync(context, status, [new RegistryError(code, message)]);
}

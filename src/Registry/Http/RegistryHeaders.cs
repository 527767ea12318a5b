using Microsoft.Extensions.Primitives;

namespace Berth.Registry.Http;

/// <summary>Header names and constant values, allocated once.</summary>
internal static class RegistryHeaders
{
    public const string ApiVersion = "Docker-Distribution-API-Version";
    public const string ContentDigest = "Docker-Content-Digest";
    public const string UploadUuid = "Docker-Upload-UUID";
    public const string Subject = "OCI-Subject";
    public const string Tag = "OCI-Tag";
    public const string FiltersApplied = "OCI-Filters-Applied";

    public static readonly StringValues ApiVersionValue = new("registry/2.0");
    public static readonly StringValues OctetStream = new("application/octet-stream");
    public static readonly StringValues Json = new("application/json");
    public static readonly StringValues Bytes = new("bytes");

    /// <summary>
    /// An absolute URL for <paramref name="pathAndQuery"/>, from the request's host as the client sees it
    /// (<c>X-Forwarded-Proto</c>/<c>X-Forwarded-Host</c> behind a proxy): clients reuse Locations verbatim.
    /// </summary>
    public static string AbsoluteUrl(HttpRequest request, string pathAndQuery)
    {
        var scheme = First(request.Headers["X-Forwarded-Proto"]) ?? request.Scheme;
        var host = First(request.Headers["X-Forwarded-Host"]) ?? request.Host.Value ?? "localhost";
        return string.Concat(scheme, "://", host, request.PathBase.Value, pathAndQuery);
    }

    private static string? First(StringValues values)
    {
        var value = values.Count > 0 ? values[0] : null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var comma = value.IndexOf(',', StringComparison.Ordinal);
        return (comma < 0 ? value : value[..comma]).Trim();
    }
}

using Berth.Registry.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Registry.Http;

/// <summary>
/// The registry's own limits on a request's header block and request target. Kestrel refuses what is over its limits
/// itself, before any middleware runs, with a bare 431 or 414 that docker can only print as "unexpected status"; so
/// Kestrel's limits are set as a backstop well above these, and this check answers first, in the spec's JSON error
/// format.
/// </summary>
internal static class RequestHeaderLimit
{
    /// <summary>
    /// The longest request target (path and query, as sent) served: Kestrel's own default, which was the limit until
    /// the backstop below. A registry URL is a few hundred bytes (names of at most 255 characters, digests, a tag).
    /// </summary>
    public const int MaxRequestTargetBytes = 8 * 1024;

    // Kestrel's backstop: what a connection may make it buffer before the registry sees the request.
    private const int KestrelBackstopFactor = 2;

    public static void ConfigureKestrel(KestrelServerLimits limits, int maxHeaderBytes)
    {
        limits.MaxRequestHeadersTotalSize = KestrelBackstopFactor * maxHeaderBytes;
        // Kestrel's own count limit (100) would refuse a request of many small headers that is far under the byte
        // limit; every header line takes at least 4 bytes of that limit, so no count is needed below the backstop.
        limits.MaxRequestHeaderCount = limits.MaxRequestHeadersTotalSize / 4;
        limits.MaxRequestLineSize = KestrelBackstopFactor * Math.Max(MaxRequestTargetBytes, maxHeaderBytes);
        // Kestrel refuses to start unless a request line and a request's headers each fit in its request buffer.
        limits.MaxRequestBufferSize = Math.Max(BodyBuffering.ReadAhead, Math.Max(limits.MaxRequestHeadersTotalSize, limits.MaxRequestLineSize));
    }

    /// <summary>Null when the request's target and headers fit; else the 414 or 431 to answer with.</summary>
    public static RegistryException? Check(HttpContext context, int maxHeaderBytes)
    {
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var targetLength = target is not null
            ? target.Length
            : (request.Path.Value?.Length ?? 0) + (request.QueryString.Value?.Length ?? 0);
        if (targetLength > MaxRequestTargetBytes)
        {
            return new RegistryException(
                StatusCodes.Status414UriTooLong,
                ErrorCodes.Unsupported,
                "request URI too long",
                $"{targetLength} bytes of path and query; this registry accepts at most {MaxRequestTargetBytes}");
        }

        // Kestrel counts name, ": ", value and CRLF of each header line; the same here, so the two limits compare.
        long total = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                total += name.Length + (value?.Length ?? 0) + 4;
            }
        }

        return total <= maxHeaderBytes
            ? null
            : new RegistryException(
                StatusCodes.Status431RequestHeaderFieldsTooLarge,
                ErrorCodes.Unsupported,
                "request headers too large",
                $"{total} bytes of headers; this registry accepts at most {maxHeaderBytes} (Registry:MaxRequestHeaderBytes)");
    }
}

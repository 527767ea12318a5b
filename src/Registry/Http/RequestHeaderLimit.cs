using Berth.Registry.Errors;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Registry.Http;

/// <summary>
/// The registry's own limit on request header size. Kestrel refuses headers over its limits itself, before any
/// middleware runs, with a bare 431 that docker can only print as "unexpected status"; so Kestrel's limits are set as a
/// backstop well above this one, and this check answers first, in the spec's JSON error format.
/// </summary>
internal static class RequestHeaderLimit
{
    // Kestrel's backstop: what a connection may make it buffer before the registry sees the request.
    private const int KestrelBackstopFactor = 2;

    public static void ConfigureKestrel(KestrelServerLimits limits, int maxHeaderBytes)
    {
        limits.MaxRequestHeadersTotalSize = KestrelBackstopFactor * maxHeaderBytes;
        // Kestrel refuses to start unless a request's headers fit in its request buffer.
        limits.MaxRequestBufferSize = Math.Max(BodyBuffering.ReadAhead, limits.MaxRequestHeadersTotalSize);
    }

    /// <summary>Null when the request's headers fit; else the 431 to answer with.</summary>
    public static RegistryException? Check(HttpRequest request, int maxHeaderBytes)
    {
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

using Microsoft.Extensions.Primitives;

namespace Berth.Registry.Manifests;

/// <summary>Content negotiation for manifests, over spans of the raw header (no parsing allocations).</summary>
internal static class AcceptHeader
{
    /// <summary>
    /// Whether a manifest of <paramref name="mediaType"/> may be served. No Accept header, or a wildcard, accepts
    /// anything: the registry never converts a manifest (no schema 1 down-conversion), it serves what was pushed.
    /// </summary>
    public static bool Accepts(StringValues accept, string mediaType)
    {
        if (accept.Count == 0)
        {
            return true;
        }

        var any = false;
        foreach (var header in accept)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                continue;
            }

            any = true;
            foreach (var range in header.AsSpan().Split(','))
            {
                var item = header.AsSpan()[range];
                var semicolon = item.IndexOf(';');
                if (semicolon >= 0)
                {
                    item = item[..semicolon];
                }

                item = item.Trim();
                if (item.SequenceEqual(mediaType) || item.SequenceEqual("*/*") || item.SequenceEqual("application/*"))
                {
                    return true;
                }
            }
        }

        return !any;
    }
}

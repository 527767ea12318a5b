using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Berth.LoadBalancer.Relay;

/// <summary>The byte-level pieces of HTTP/1.1 the relay reads and writes (RFC 9110, 9112).</summary>
internal static class HttpBytes
{
    /// <summary>tchar (RFC 9110 5.6.2): what a method or a field name may be made of.</summary>
    private static readonly SearchValues<byte> s_token = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// Bytes of an origin-form path that Kestrel's decoding and normalisation and YARP's re-encoding leave as they are
    /// (unreserved, sub-delims, ':', '@', '/'). A path with anything else ('%', a space, non-ASCII) goes to YARP, whose
    /// answer then is the one clients always got.
    /// </summary>
    private static readonly SearchValues<byte> s_plainPath = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"u8);

    /// <summary>Visible ASCII, space and tab: a field value or query without control or non-ASCII bytes.</summary>
    private static readonly SearchValues<byte> s_plainValue = SearchValues.Create(Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b).Append((byte)'\t').ToArray());

    /// <summary>A reg-name's bytes (RFC 3986 3.2.2, without percent-encoding) or an IP literal's ('[', ']', hex, ':', '.').</summary>
    private static readonly SearchValues<byte> s_hostName = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;="u8);
    private static readonly SearchValues<byte> s_ipLiteral = SearchValues.Create("0123456789abcdefABCDEF:."u8);

    public static bool IsToken(ReadOnlySpan<byte> value) => value.Length > 0 && !value.ContainsAnyExcept(s_token);

    public static bool IsPlainPath(ReadOnlySpan<byte> path) => !path.ContainsAnyExcept(s_plainPath) && !HasDotSegment(path);

    public static bool IsPlainValue(ReadOnlySpan<byte> value) => !value.ContainsAnyExcept(s_plainValue);

    /// <summary>
    /// A Host value Kestrel accepts and reads the same way: a name or an IPv6 literal, then optionally ':' and a port.
    /// Anything else (percent-encoding, an empty port) goes to Kestrel, which answers it as it always did.
    /// </summary>
    public static bool IsPlainHost(ReadOnlySpan<byte> host)
    {
        var end = host.IndexOf((byte)']');
        if (host.StartsWith("["u8))
        {
            if (end < 2 || host[1..end].ContainsAnyExcept(s_ipLiteral))
            {
                return false;
            }

            end++;
        }
        else
        {
            end = host.IndexOf((byte)':') is var colon and >= 0 ? colon : host.Length;
            if (end == 0 || host[..end].ContainsAnyExcept(s_hostName))
            {
                return false;
            }
        }

        var port = host[end..];
        return port.IsEmpty || (port.Length > 1 && port[0] == ':' && !port[1..].ContainsAnyExceptInRange((byte)'0', (byte)'9'));
    }

    /// <summary>Trims spaces and tabs (OWS) on both sides.</summary>
    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> value)
    {
        var start = 0;
        while (start < value.Length && value[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        var end = value.Length;
        while (end > start && value[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        return value[start..end];
    }

    /// <summary>A Content-Length value: digits only, no sign, no list (a list or anything else goes to YARP).</summary>
    public static bool TryParseLength(ReadOnlySpan<byte> value, out long length) =>
        Utf8Parser.TryParse(value, out length, out var consumed) && consumed == value.Length && value.Length > 0 && value[0] is >= (byte)'0' and <= (byte)'9';

    /// <summary>Whether a comma-separated header value holds <paramref name="token"/> (case-insensitive), as Connection's do.</summary>
    public static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(TrimOws(value[range]), token))
            {
                return true;
            }
        }

        return false;
    }

    // "/." and "/.." segments: Kestrel removes them from the path it routes and YARP forwards.
    private static bool HasDotSegment(ReadOnlySpan<byte> path)
    {
        for (var i = path.IndexOf("/."u8); i >= 0; i = path.IndexOf("/."u8) is var next and >= 0 ? next : -1)
        {
            var rest = path[(i + 2)..];
            if (rest.IsEmpty || rest[0] == '/' || (rest[0] == '.' && (rest.Length == 1 || rest[1] == '/')))
            {
                return true;
            }

            path = rest;
        }

        return false;
    }
}

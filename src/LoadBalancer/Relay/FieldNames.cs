using System.Text;

namespace Berth.LoadBalancer.Relay;

/// <summary>The header fields the relay acts on; every other field passes through as its bytes.</summary>
internal enum Field
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    Cookie,
    Date,
    ForwardedFor,

    /// <summary>Replaced by the balancer's own (X-Forwarded-Proto, X-Forwarded-Port).</summary>
    Replaced,

    /// <summary>Fields that change what the exchange is (Upgrade, Expect, TE, HTTP2-Settings): YARP's path serves them.</summary>
    Special,

    /// <summary>Hop-by-hop fields YARP drops in both directions (its RequestUtilities list, less the ones above).</summary>
    HopByHop,
}

internal static class FieldNames
{
    /// <summary>What a field name is to the relay (ASCII case-insensitive).</summary>
    public static Field Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "TE"u8) => Field.Special,
        4 when Ascii.EqualsIgnoreCase(name, "Host"u8) => Field.Host,
        4 when Ascii.EqualsIgnoreCase(name, "Date"u8) => Field.Date,
        4 when Ascii.EqualsIgnoreCase(name, "ALPN"u8) => Field.HopByHop,
        5 when Ascii.EqualsIgnoreCase(name, "Close"u8) => Field.HopByHop,
        6 when Ascii.EqualsIgnoreCase(name, "Cookie"u8) => Field.Cookie,
        6 when Ascii.EqualsIgnoreCase(name, "Expect"u8) => Field.Special,
        7 when Ascii.EqualsIgnoreCase(name, "Upgrade"u8) => Field.Special,
        7 when Ascii.EqualsIgnoreCase(name, "Alt-Svc"u8) => Field.HopByHop,
        10 when Ascii.EqualsIgnoreCase(name, "Connection"u8) => Field.Connection,
        10 when Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8) => Field.HopByHop,
        14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8) => Field.ContentLength,
        14 when Ascii.EqualsIgnoreCase(name, "HTTP2-Settings"u8) => Field.Special,
        14 when Ascii.EqualsIgnoreCase(name, "Proxy-Features"u8) => Field.HopByHop,
        15 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8) => Field.ForwardedFor,
        15 when Ascii.EqualsIgnoreCase(name, "Security-Scheme"u8) => Field.HopByHop,
        16 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-Port"u8) => Field.Replaced,
        16 when Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8) => Field.HopByHop,
        17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) => Field.TransferEncoding,
        17 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-Proto"u8) => Field.Replaced,
        17 when Ascii.EqualsIgnoreCase(name, "Proxy-Instruction"u8) => Field.HopByHop,
        18 when Ascii.EqualsIgnoreCase(name, "Proxy-Authenticate"u8) => Field.HopByHop,
        19 when Ascii.EqualsIgnoreCase(name, "Proxy-Authorization"u8) => Field.HopByHop,
        25 when Ascii.EqualsIgnoreCase(name, "Proxy-Authentication-Info"u8) => Field.HopByHop,
        _ => Field.Other,
    };
}

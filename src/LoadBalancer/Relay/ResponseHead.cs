using System.Text;

namespace Berth.LoadBalancer.Relay;

/// <summary>How a response's body ends (RFC 9112 6.3).</summary>
internal enum BodyFraming
{
    None,
    ContentLength,
    Chunked,
    UntilClose,
}

/// <summary>A target's response head, parsed without allocating, and the head the client gets.</summary>
internal struct ResponseHead
{
    public int Status;
    public long ContentLength;
    public BodyFraming Framing;
    public bool HasDate;

    /// <summary>The target closes the connection after this response (Connection: close, or HTTP/1.0 without keep-alive).</summary>
    public bool TargetCloses;

    /// <summary>
    /// Parses <paramref name="head"/> (through its empty line) of the answer to a request (HEAD or not). False for a
    /// head SocketsHttpHandler would reject too (YARP's path answers 502 then): a malformed status line or field,
    /// conflicting or invalid lengths, a transfer coding other than chunked last.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> head, bool headRequest, out ResponseHead response)
    {
        response = default;
        response.ContentLength = -1;
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 12 || !(head.StartsWith("HTTP/1.1 "u8) || head.StartsWith("HTTP/1.0 "u8))
            || (lineEnd > 12 && head[12] != ' ')
            || !System.Buffers.Text.Utf8Parser.TryParse(head.Slice(9, 3), out int status, out var used) || used != 3 || status < 100)
        {
            return false;
        }

        response.Status = status;
        var http10 = head[7] == '0';
        var keepAlive = false;
        var chunked = false;
        var codings = false;
        var offset = lineEnd + 2;
        while (true)
        {
            var fieldEnd = head[offset..].IndexOf("\r\n"u8);
            if (fieldEnd < 0)
            {
                return false;
            }

            if (fieldEnd == 0)
            {
                break;
            }

            var field = head.Slice(offset, fieldEnd);
            var colon = field.IndexOf((byte)':');
            if (colon <= 0 || !HttpBytes.IsToken(field[..colon]))
            {
                return false;
            }

            var value = HttpBytes.TrimOws(field[(colon + 1)..]);
            switch (FieldNames.Classify(field[..colon]))
            {
                case Field.ContentLength:
                    if (!HttpBytes.TryParseLength(value, out var length) || (response.ContentLength >= 0 && response.ContentLength != length))
                    {
                        return false;
                    }

                    response.ContentLength = length;
                    break;
                case Field.TransferEncoding:
                    codings = true;
                    var last = value.LastIndexOf((byte)',');
                    chunked = Ascii.EqualsIgnoreCase(HttpBytes.TrimOws(last < 0 ? value : value[(last + 1)..]), "chunked"u8);
                    break;
                case Field.Connection:
                    response.TargetCloses |= HttpBytes.HasToken(value, "close"u8);
                    keepAlive |= HttpBytes.HasToken(value, "keep-alive"u8);
                    break;
                case Field.Date:
                    response.HasDate = true;
                    break;
            }

            offset += fieldEnd + 2;
        }

        if (offset + 2 != head.Length || (codings && !chunked))
        {
            return false;
        }

        response.TargetCloses |= http10 && !keepAlive;
        response.Framing = headRequest || status is < 200 or 204 or 304 ? BodyFraming.None
            : chunked ? BodyFraming.Chunked
            : response.ContentLength >= 0 ? BodyFraming.ContentLength
            : BodyFraming.UntilClose;
        // A message with both is to be read as chunked, and the length must not be passed on (RFC 9112 6.3).
        if (chunked)
        {
            response.ContentLength = -1;
        }

        return true;
    }

    /// <summary>
    /// Writes the head the client gets: HTTP/1.1 with the target's status and reason, its fields less the hop-by-hop
    /// ones (and a Content-Length beside chunked), a Date when it sent none (Kestrel always sends one),
    /// <c>Transfer-Encoding: chunked</c> for a body the target ends by closing (re-chunked, so the client's connection
    /// stays open, as Kestrel does), and <c>Connection: close</c> when this is the connection's last response. The
    /// bytes written, or -1 when <paramref name="destination"/> is too small.
    /// </summary>
    public readonly int WriteForClient(ReadOnlySpan<byte> head, Span<byte> destination, bool close, ReadOnlySpan<byte> date)
    {
        var lineEnd = head.IndexOf("\r\n"u8) + 2;
        var written = 0;
        var ok = Append(destination, ref written, "HTTP/1.1"u8) && Append(destination, ref written, head[8..lineEnd]);
        var offset = lineEnd;
        while (ok)
        {
            var fieldEnd = head[offset..].IndexOf("\r\n"u8);
            if (fieldEnd == 0)
            {
                break;
            }

            var field = head.Slice(offset, fieldEnd + 2);
            var kind = FieldNames.Classify(field[..field.IndexOf((byte)':')]);
            var keep = kind switch
            {
                Field.HopByHop or Field.Connection => false,
                // Passed on when the body is chunked on both sides; otherwise the framing is the client side's own.
                Field.TransferEncoding => Framing == BodyFraming.Chunked,
                Field.ContentLength => Framing != BodyFraming.Chunked,
                _ => true,
            };
            ok = !keep || Append(destination, ref written, field);
            offset += fieldEnd + 2;
        }

        if (ok && !HasDate)
        {
            ok = Append(destination, ref written, "Date: "u8) && Append(destination, ref written, date) && Append(destination, ref written, "\r\n"u8);
        }

        if (ok && Framing == BodyFraming.UntilClose)
        {
            ok = Append(destination, ref written, "Transfer-Encoding: chunked\r\n"u8);
        }

        if (ok && close)
        {
            ok = Append(destination, ref written, "Connection: close\r\n"u8);
        }

        return ok && Append(destination, ref written, "\r\n"u8) ? written : -1;
    }

    private static bool Append(Span<byte> destination, ref int written, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(destination[written..]))
        {
            return false;
        }

        written += bytes.Length;
        return true;
    }
}

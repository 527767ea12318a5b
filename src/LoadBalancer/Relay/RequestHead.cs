using System.Text;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// A request head the relay may forward as it is: offsets into its bytes (request line and fields, the final CRLF
/// included), parsed without allocating. <see cref="TryParse"/> says no to anything the relay does not serve exactly as
/// Kestrel and YARP would, and the connection then goes to them with the bytes unconsumed.
/// </summary>
internal struct RequestHead
{
    private const int MaxFields = 100;

    public Range Method;
    public Range Target;
    public Range Path;
    public Range Query;
    public Range Host;
    public Range ForwardedFor;
    public bool HasForwardedFor;
    public long ContentLength;
    public bool Close;

    /// <summary>
    /// GET or HEAD: a request YARP's passive health retry (and nginx) sends to another target when one dropped it,
    /// if it has no body.
    /// </summary>
    public bool Retryable;
    public bool IsHead;

    /// <summary>
    /// Parses <paramref name="head"/> (through its empty line). False for what goes to YARP: not HTTP/1.1, a target
    /// that is not a plain origin-form path, a field Kestrel would reject or treat specially (Upgrade, Expect, TE,
    /// Transfer-Encoding, HTTP2-Settings), repeated Host, Content-Length, Cookie or X-Forwarded-For, a Connection
    /// option other than close and keep-alive.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> head, out RequestHead request)
    {
        request = default;
        request.ContentLength = -1;
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return false;
        }

        var line = head[..lineEnd];
        var sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0 || !HttpBytes.IsToken(line[..sp1]))
        {
            return false;
        }

        var rest = line[(sp1 + 1)..];
        var sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0 || !rest[(sp2 + 1)..].SequenceEqual("HTTP/1.1"u8) || rest[0] != '/')
        {
            return false;
        }

        var target = rest[..sp2];
        var question = target.IndexOf((byte)'?');
        var path = question < 0 ? target : target[..question];
        if (!HttpBytes.IsPlainPath(path) || (question >= 0 && !HttpBytes.IsPlainValue(target[(question + 1)..])))
        {
            return false;
        }

        var method = line[..sp1];
        request.Method = new Range(0, sp1);
        request.Target = new Range(sp1 + 1, sp1 + 1 + sp2);
        request.Path = new Range(sp1 + 1, sp1 + 1 + path.Length);
        request.Query = question < 0 ? new Range(sp1 + 1 + sp2, sp1 + 1 + sp2) : new Range(sp1 + 1 + question + 1, sp1 + 1 + sp2);
        request.IsHead = method.SequenceEqual("HEAD"u8);
        request.Retryable = request.IsHead || method.SequenceEqual("GET"u8);

        var hosts = 0;
        var cookies = 0;
        var fields = 0;
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

            // Kestrel's MaxRequestHeaderCount (100): more is its 431.
            if (++fields > MaxFields)
            {
                return false;
            }

            var field = head.Slice(offset, fieldEnd);
            var colon = field.IndexOf((byte)':');
            // No whitespace before the colon and no obs-fold (RFC 9112 5.1, 5.2): Kestrel answers those with a 400.
            if (colon <= 0 || !HttpBytes.IsToken(field[..colon]) || !HttpBytes.IsPlainValue(field[(colon + 1)..]))
            {
                return false;
            }

            var value = HttpBytes.TrimOws(field[(colon + 1)..]);
            var valueStart = offset + colon + 1 + (field[(colon + 1)..].Length - field[(colon + 1)..].TrimStart(" \t"u8).Length);
            var valueRange = new Range(valueStart, valueStart + value.Length);
            switch (FieldNames.Classify(field[..colon]))
            {
                case Field.Host:
                    hosts++;
                    request.Host = valueRange;
                    break;
                case Field.ContentLength:
                    if (request.ContentLength >= 0 || !HttpBytes.TryParseLength(value, out request.ContentLength))
                    {
                        return false;
                    }

                    break;
                case Field.Connection:
                    foreach (var option in value.Split((byte)','))
                    {
                        var token = HttpBytes.TrimOws(value[option]);
                        if (Ascii.EqualsIgnoreCase(token, "close"u8))
                        {
                            request.Close = true;
                        }
                        else if (!Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
                        {
                            return false;
                        }
                    }

                    break;
                case Field.Cookie:
                    // YARP joins several Cookie fields with "; "; one is what browsers send.
                    if (++cookies > 1)
                    {
                        return false;
                    }

                    break;
                case Field.ForwardedFor:
                    if (request.HasForwardedFor)
                    {
                        return false;
                    }

                    request.HasForwardedFor = true;
                    request.ForwardedFor = valueRange;
                    break;
                case Field.TransferEncoding or Field.Special:
                    return false;
            }

            offset += fieldEnd + 2;
        }

        // HTTP/1.1 requires exactly one Host (Kestrel answers 400 otherwise); an empty or unusual one goes to Kestrel.
        return hosts == 1 && HttpBytes.IsPlainHost(head[request.Host]) && offset + 2 == head.Length;
    }

    /// <summary>
    /// Writes the head to forward: the request line, the client's fields as they came (its Host too, as ALB and YARP's
    /// path with <c>AddOriginalHost</c> pass it) less the
    /// hop-by-hop ones and its X-Forwarded-For, -Proto and -Port, and ELB's X-Forwarded-For (the client's address
    /// appended), -Proto and -Port. The bytes written, or -1 when <paramref name="destination"/> is too small.
    /// </summary>
    public readonly int WriteForwarded(ReadOnlySpan<byte> head, Span<byte> destination, ReadOnlySpan<byte> clientAddress, ReadOnlySpan<byte> port)
    {
        var lineEnd = head.IndexOf("\r\n"u8) + 2;
        var written = 0;
        if (!Append(destination, ref written, head[..lineEnd]))
        {
            return -1;
        }

        var offset = lineEnd;
        while (true)
        {
            var fieldEnd = head[offset..].IndexOf("\r\n"u8);
            if (fieldEnd == 0)
            {
                break;
            }

            var field = head.Slice(offset, fieldEnd + 2);
            var kind = FieldNames.Classify(field[..field.IndexOf((byte)':')]);
            if (kind is not (Field.HopByHop or Field.Replaced or Field.ForwardedFor or Field.Connection) && !Append(destination, ref written, field))
            {
                return -1;
            }

            offset += fieldEnd + 2;
        }

        var ok = Append(destination, ref written, "X-Forwarded-For: "u8);
        if (HasForwardedFor && head[ForwardedFor].Length > 0)
        {
            ok = ok && Append(destination, ref written, head[ForwardedFor]) && Append(destination, ref written, ", "u8);
        }

        ok = ok && Append(destination, ref written, clientAddress)
            && Append(destination, ref written, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: "u8)
            && Append(destination, ref written, port)
            && Append(destination, ref written, "\r\n\r\n"u8);
        return ok ? written : -1;
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

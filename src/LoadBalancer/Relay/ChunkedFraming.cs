namespace Berth.LoadBalancer.Relay;

/// <summary>
/// Follows a chunked body's framing (RFC 9112 7.1) as its bytes pass through, to know where the response ends without
/// decoding it: chunk sizes, extensions and data are passed on as they came. The trailer section is not: Kestrel
/// sends no trailers on HTTP/1.1, so YARP's path drops them, and the relay ends the body with the empty line alone.
/// </summary>
internal struct ChunkedFraming
{
    private State _state;
    private long _remaining;
    private bool _sawDigit;
    private bool _lastChunk;

    private enum State
    {
        Size,
        Extension,
        SizeLineFeed,
        Data,
        DataCarriageReturn,
        DataLineFeed,
        TrailerLineStart,
        TrailerLine,
        TrailerLineFeed,
        EndLineFeed,
        Done,
    }

    public readonly bool Done => _state == State.Done;

    /// <summary>
    /// Reads <paramref name="bytes"/>; <paramref name="consumed"/> is how many belong to the body (the rest, after its
    /// end, does not), <paramref name="forward"/> how many of those leading bytes go to the client (all but a trailer
    /// section). False on a framing error.
    /// </summary>
    public bool Read(ReadOnlySpan<byte> bytes, out int consumed, out int forward)
    {
        forward = -1;
        var i = 0;
        for (; i < bytes.Length && _state != State.Done; i++)
        {
            var b = bytes[i];
            switch (_state)
            {
                case State.Size:
                    var digit = HexValue(b);
                    if (digit >= 0)
                    {
                        if (_remaining > (long.MaxValue >> 4))
                        {
                            consumed = i;
                            return false;
                        }

                        _remaining = (_remaining << 4) | (uint)digit;
                        _sawDigit = true;
                    }
                    else if (_sawDigit && b is (byte)';' or (byte)' ' or (byte)'\t')
                    {
                        _state = State.Extension;
                    }
                    else if (_sawDigit && b == '\r')
                    {
                        _state = State.SizeLineFeed;
                    }
                    else
                    {
                        consumed = i;
                        return false;
                    }

                    break;
                case State.Extension:
                    if (b == '\r')
                    {
                        _state = State.SizeLineFeed;
                    }
                    else if (b == '\n')
                    {
                        consumed = i;
                        return false;
                    }

                    break;
                case State.SizeLineFeed:
                    if (b != '\n')
                    {
                        consumed = i;
                        return false;
                    }

                    _sawDigit = false;
                    if (_remaining == 0)
                    {
                        // The last chunk: what follows is the trailer section, not passed on.
                        _lastChunk = true;
                        _state = State.TrailerLineStart;
                        forward = i + 1;
                    }
                    else
                    {
                        _state = State.Data;
                    }

                    break;
                case State.Data:
                    var take = (int)Math.Min(_remaining, bytes.Length - i);
                    _remaining -= take;
                    i += take - 1;
                    if (_remaining == 0)
                    {
                        _state = State.DataCarriageReturn;
                    }

                    break;
                case State.DataCarriageReturn:
                    _state = b == '\r' ? State.DataLineFeed : State.Done;
                    if (b != '\r')
                    {
                        consumed = i;
                        return false;
                    }

                    break;
                case State.DataLineFeed:
                    if (b != '\n')
                    {
                        consumed = i;
                        return false;
                    }

                    _state = State.Size;
                    break;
                case State.TrailerLineStart:
                    _state = b == '\r' ? State.EndLineFeed : State.TrailerLine;
                    break;
                case State.TrailerLine:
                    if (b == '\r')
                    {
                        _state = State.TrailerLineFeed;
                    }

                    break;
                case State.TrailerLineFeed:
                    if (b != '\n')
                    {
                        consumed = i;
                        return false;
                    }

                    _state = State.TrailerLineStart;
                    break;
                case State.EndLineFeed:
                    if (b != '\n')
                    {
                        consumed = i;
                        return false;
                    }

                    _state = State.Done;
                    break;
            }
        }

        consumed = i;
        if (forward < 0)
        {
            // Inside the trailer section nothing more is passed on.
            forward = _lastChunk ? 0 : consumed;
        }

        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}

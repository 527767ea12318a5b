using System.Buffers;
using System.IO.Pipelines;
using Berth.LoadBalancer.Relay.Loops;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// A relayed client connection's input: one buffer that receives straight from the socket into its free tail, with
/// the part of <see cref="System.IO.Pipelines.PipeReader"/>'s contract the relay uses (<see cref="ReadAsync"/> returns
/// what is buffered and not yet examined, or waits for more; <see cref="AdvanceTo(SequencePosition, SequencePosition)"/>
/// marks bytes consumed and examined). Kestrel's socket transport reads each request with a zero-byte receive first and
/// then wakes the pipe's reader on another continuation; here a request is one receive (docs/load-balancer.md, "The
/// HTTP/1.1 relay").
/// </summary>
internal sealed class SocketInput(LoopSocket socket) : IDisposable
{
    // Room for a head the relay serves (RelayConnection.MaxRequestHead) and more, so that a head that does not end
    // within that limit is seen as such and handed to Kestrel; request bodies stream through it.
    public const int BufferSize = 16 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;
    private int _examined;
    private bool _completed;

    /// <summary>The bytes received and not yet consumed.</summary>
    public ReadOnlyMemory<byte> Unconsumed => _buffer.AsMemory(_start, _end - _start);

    /// <summary>
    /// The buffered bytes, at once when some were not examined yet (or the client closed), else after the next receive.
    /// A socket error surfaces as it does on Kestrel's pipe, as an exception.
    /// </summary>
    public async ValueTask<ReadResult> ReadAsync(TimeSpan timeout)
    {
        while (_end == _examined && !_completed)
        {
            if (_start == _end)
            {
                // Everything consumed: the next bytes go to the buffer's start.
                _start = _end = _examined = 0;
            }
            else if (_end == _buffer.Length)
            {
                Compact();
            }

            var n = await socket.ReceiveAsync(_buffer.AsMemory(_end), timeout);
            if (n == 0)
            {
                _completed = true;
            }

            _end += n;
        }

        return Current();
    }

    /// <summary>What is buffered, without waiting.</summary>
    public bool TryRead(out ReadResult result)
    {
        result = Current();
        return _end > _start || _completed;
    }

    /// <summary>Marks the bytes before <paramref name="consumed"/> read (and everything before it examined).</summary>
    public void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <summary>
    /// Marks the bytes before <paramref name="consumed"/> read and the ones before <paramref name="examined"/> seen: the
    /// next <see cref="ReadAsync"/> waits for more unless bytes beyond it are buffered.
    /// </summary>
    public void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var start = Index(consumed);
        var seen = Index(examined);
        if (start < _start || seen < start || seen > _end)
        {
            throw new InvalidOperationException("A position outside the buffered bytes.");
        }

        _start = start;
        _examined = seen;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ReadResult Current() => new(new ReadOnlySequence<byte>(_buffer, _start, _end - _start), false, _completed);

    // Positions of an array-backed sequence are the array and the index in it.
    private int Index(SequencePosition position) =>
        ReferenceEquals(position.GetObject(), _buffer) ? position.GetInteger() : throw new InvalidOperationException("A position of another buffer.");

    // The unconsumed bytes to the buffer's start, for room after them; a buffer they fill (a head the relay does not
    // serve) is not read into further: the relay hands the connection over first.
    private void Compact()
    {
        if (_start == 0)
        {
            throw new InvalidOperationException("The relay's input buffer is full.");
        }

        var length = _end - _start;
        _buffer.AsSpan(_start, length).CopyTo(_buffer);
        _examined -= _start;
        _start = 0;
        _end = length;
    }
}

using System.Buffers;
using System.Net;
using Berth.LoadBalancer.Relay.Loops;

namespace Berth.LoadBalancer.Relay;

/// <summary>A keep-alive connection to a target, with the buffer its exchanges build heads and read responses in.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    /// <summary>Room for a forwarded request head and a response head (the relay hands larger request heads to YARP).</summary>
    public const int BufferSize = 16 * 1024;

    public UpstreamConnection(LoopSocket socket)
    {
        Socket = socket;
        Buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    public LoopSocket Socket { get; }

    public byte[] Buffer { get; private set; }

    /// <summary>Whether it served an exchange before: a reused connection the target closed while idle is not a failure of the target.</summary>
    public bool Reused { get; set; }

    public void Dispose()
    {
        Socket.Dispose();
        if (Buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = [];
        }
    }
}

/// <summary>
/// Idle keep-alive connections to one target: a small stack (the last one used is the warmest), bounded like nginx's
/// <c>keepalive</c>; connections beyond it are closed. A lock, not a lock-free stack: pushing on one allocates a node.
/// </summary>
internal sealed class UpstreamPool(EndPoint target)
{
    private const int MaxIdle = 128;
    private readonly UpstreamConnection?[] _idle = new UpstreamConnection?[MaxIdle];
    private int _count;
    private bool _closed;

    public EndPoint Target { get; } = target;

    public UpstreamConnection? TryTake()
    {
        lock (_idle)
        {
            if (_count == 0)
            {
                return null;
            }

            var connection = _idle[--_count];
            _idle[_count] = null;
            return connection;
        }
    }

    public void Return(UpstreamConnection connection)
    {
        connection.Reused = true;
        lock (_idle)
        {
            if (!_closed && _count < MaxIdle)
            {
                _idle[_count++] = connection;
                return;
            }
        }

        connection.Dispose();
    }

    public async ValueTask<UpstreamConnection> ConnectAsync(TimeSpan timeout) => new(await LoopSocket.ConnectAsync(Target, timeout));

    /// <summary>Closes the idle connections and every one returned later (the target left the configuration).</summary>
    public void Close()
    {
        lock (_idle)
        {
            _closed = true;
            for (var i = 0; i < _count; i++)
            {
                _idle[i]!.Dispose();
                _idle[i] = null;
            }

            _count = 0;
        }
    }
}

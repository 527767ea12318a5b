using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Berth.LoadBalancer.Relay.Loop;

/// <summary>
/// A non-blocking socket of one <see cref="EventLoop"/>: receives and sends are tried at once and, when the socket is
/// not ready, wait for its edge-triggered readiness on the loop, which completes them inline. One receive and one send
/// may be in flight at a time, called on the loop's thread. What the socket's readiness is known to be is kept, so that
/// a receive on a drained socket waits without a system call first (as nginx's <c>ready</c> flag).
/// </summary>
internal sealed class LoopSocket : IDisposable
{
    private static int s_generations;

    private readonly Operation _receive;
    private readonly Operation _send;
    private readonly int _fd;
    private ulong _key;
    private bool _readable = true;
    private bool _registered;

    public LoopSocket(EventLoop loop, Socket socket)
    {
        Loop = loop;
        Socket = socket;
        socket.Blocking = false;
        _fd = (int)socket.Handle;
        Generation = (uint)Interlocked.Increment(ref s_generations);
        _receive = new Operation(this);
        _send = new Operation(this);
        _key = loop.Register(this, _fd);
        _registered = true;
    }

    public EventLoop Loop { get; }

    public Socket Socket { get; }

    public uint Generation { get; }

    /// <summary>Receives what is there, or waits for bytes; 0 when the peer closed.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, SocketFlags flags, CancellationToken cancellationToken)
    {
        if (_readable)
        {
            var n = Socket.Receive(buffer.Span, flags, out var error);
            if (error == SocketError.Success)
            {
                // Fewer bytes than asked for: the socket is drained until its next edge.
                _readable = n == buffer.Length && n > 0;
                return new ValueTask<int>(n);
            }

            if (error != SocketError.WouldBlock)
            {
                return ValueTask.FromException<int>(new SocketException((int)error));
            }

            _readable = false;
        }

        return _receive.Wait(buffer, flags);
    }

    /// <summary>Sends all of <paramref name="buffer"/>, waiting for room as needed.</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, SocketFlags flags, CancellationToken cancellationToken)
    {
        var sent = 0;
        while (sent < buffer.Length)
        {
            var n = Socket.Send(buffer.Span[sent..], flags, out var error);
            if (error == SocketError.WouldBlock)
            {
                return _send.Wait(MemoryMarshalAsWritable(buffer), flags, sent);
            }

            if (error != SocketError.Success)
            {
                return ValueTask.FromException<int>(new SocketException((int)error));
            }

            sent += n;
        }

        return new ValueTask<int>(sent);
    }

    /// <summary>Connects a new socket of the current loop to <paramref name="target"/>.</summary>
    public static ValueTask<LoopSocket> ConnectAsync(EndPoint target)
    {
        var loop = EventLoop.Current ?? throw new InvalidOperationException("Not on a relay loop.");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        LoopSocket? connection = null;
        try
        {
#pragma warning disable CA2000 // returned, or disposed below
            connection = new LoopSocket(loop, socket);
#pragma warning restore CA2000
            try
            {
                socket.Connect(target);
                return new ValueTask<LoopSocket>(connection);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                return connection.WaitConnectedAsync();
            }
        }
        catch
        {
            if (connection is null)
            {
                socket.Dispose();
            }
            else
            {
                connection.Dispose();
            }

            throw;
        }
    }

    public bool Poll(int microseconds, SelectMode mode) => Socket.Poll(microseconds, mode);

    public void Shutdown(SocketShutdown how) => Socket.Shutdown(how);

    /// <summary>Takes the socket off the loop, for another owner (Kestrel, at a hand-over).</summary>
    public Socket Detach()
    {
        Unregister();
        Socket.Blocking = true;
        return Socket;
    }

    public void Dispose()
    {
        if (EventLoop.Current != Loop)
        {
            Loop.Post(static s => ((LoopSocket)s!).Dispose(), this);
            return;
        }

        Unregister();
        Socket.Dispose();
    }

    internal void OnEvents(uint events)
    {
        if ((events & (Epoll.In | Epoll.Err | Epoll.Hup | Epoll.RdHup)) != 0)
        {
            _readable = true;
            if (_receive.Pending)
            {
                _receive.TryReceive();
            }
        }

        if ((events & (Epoll.Out | Epoll.Err | Epoll.Hup)) != 0 && _send.Pending)
        {
            _send.TrySend();
        }
    }

    private async ValueTask<LoopSocket> WaitConnectedAsync()
    {
        await _send.WaitWritable();
        var error = (SocketError)(int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return error == SocketError.Success ? this : throw new SocketException((int)error);
    }

    private void Unregister()
    {
        if (_registered)
        {
            _registered = false;
            Loop.Unregister(_key, _fd);
        }
    }

    private static Memory<byte> MemoryMarshalAsWritable(ReadOnlyMemory<byte> memory) => System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory);

    /// <summary>A receive or a send waiting for the socket.</summary>
    private sealed class Operation(LoopSocket owner) : IValueTaskSource<int>
    {
        private ManualResetValueTaskSourceCore<int> _core;
        private Memory<byte> _buffer;
        private SocketFlags _flags;
        private int _done;
        private bool _connect;

        public bool Pending { get; private set; }

        public ValueTask<int> Wait(Memory<byte> buffer, SocketFlags flags, int done = 0)
        {
            _core.Reset();
            _buffer = buffer;
            _flags = flags;
            _done = done;
            _connect = false;
            Pending = true;
            return new ValueTask<int>(this, _core.Version);
        }

        public ValueTask<int> WaitWritable()
        {
            _core.Reset();
            _buffer = default;
            _connect = true;
            Pending = true;
            return new ValueTask<int>(this, _core.Version);
        }

        public void TryReceive()
        {
            var n = owner.Socket.Receive(_buffer.Span, _flags, out var error);
            if (error == SocketError.WouldBlock)
            {
                owner._readable = false;
                return;
            }

            if (error == SocketError.Success)
            {
                owner._readable = n == _buffer.Length && n > 0;
                Complete(n);
            }
            else
            {
                Fail(new SocketException((int)error));
            }
        }

        public void TrySend()
        {
            if (_connect)
            {
                Complete(0);
                return;
            }

            while (_done < _buffer.Length)
            {
                var n = owner.Socket.Send(_buffer.Span[_done..], _flags, out var error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success)
                {
                    Fail(new SocketException((int)error));
                    return;
                }

                _done += n;
            }

            Complete(_done);
        }

        public int GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext);

        private void Complete(int result)
        {
            Pending = false;
            _buffer = default;
            _core.SetResult(result);
        }

        private void Fail(Exception error)
        {
            Pending = false;
            _buffer = default;
            _core.SetException(error);
        }
    }
}

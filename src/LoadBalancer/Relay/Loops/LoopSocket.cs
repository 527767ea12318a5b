using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Berth.LoadBalancer.Relay.Loops;

/// <summary>
/// A non-blocking socket of one <see cref="EventLoop"/>: a receive or send is tried at once and, when the socket is
/// not ready, waits for its edge-triggered readiness on the loop, which completes it inline, or for its deadline (the
/// loop's sweep fails it with a <see cref="TimeoutException"/>). One receive and one send may wait at a time, and
/// both are started on the loop's thread. What the socket's readiness is known to be is kept, so that a receive on a
/// drained socket waits without a system call first (as nginx's <c>ready</c> flag).
/// </summary>
internal sealed class LoopSocket : IDisposable
{
    private static int s_generations;

    private readonly Operation _receive;
    private readonly Operation _send;
    private readonly int _fd;
    private readonly ulong _key;
    private bool _readable = true;

    // The peer closed (or reset) the connection, or it was shut down for receiving: reported once, by one edge, and for
    // good; every receive from then on returns at once (0, or the error). Without it a receive that got the last bytes
    // before a FIN already reported would wait for an edge that never comes.
    private bool _hungUp;
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

    /// <summary>Receives what is there, or waits for bytes up to <paramref name="timeout"/>; 0 when the peer closed.</summary>
    public LoopResult ReceiveAsync(Memory<byte> buffer, TimeSpan timeout)
    {
        if (!_registered)
        {
            // Closed (or detached): its descriptor may be another socket's by now.
            return new LoopResult(Aborted());
        }

        if (_readable)
        {
            var n = SocketCalls.Receive(_fd, buffer.Span, out var error);
            if (error == SocketError.Success)
            {
                // Fewer bytes than asked for: the socket is drained until its next edge.
                _readable = _hungUp || (n == buffer.Length && n > 0);
                return new LoopResult(n);
            }

            if (error != SocketError.WouldBlock)
            {
                return new LoopResult(new SocketException((int)error));
            }

            _readable = false;
        }

        return _receive.Wait(buffer, 0, Deadline(timeout));
    }

    /// <summary>Sends all of <paramref name="buffer"/>, waiting for room as needed (each wait up to <paramref name="timeout"/>).</summary>
    public LoopResult SendAsync(ReadOnlyMemory<byte> buffer, TimeSpan timeout)
    {
        if (!_registered)
        {
            return new LoopResult(Aborted());
        }

        var sent = 0;
        while (sent < buffer.Length)
        {
            var n = SocketCalls.Send(_fd, buffer.Span[sent..], out var error);
            if (error == SocketError.WouldBlock)
            {
                return _send.Wait(MemoryMarshal.AsMemory(buffer), sent, Deadline(timeout));
            }

            if (error != SocketError.Success)
            {
                return new LoopResult(new SocketException((int)error));
            }

            sent += n;
        }

        return new LoopResult(sent);
    }

    /// <summary>A new socket of the current loop connected to <paramref name="target"/> within <paramref name="timeout"/>.</summary>
    public static async ValueTask<LoopSocket> ConnectAsync(EndPoint target, TimeSpan timeout)
    {
        var loop = EventLoop.Current ?? throw new InvalidOperationException("Not on a relay event loop.");
        if (target is DnsEndPoint named)
        {
            // A target by name: resolved off the loop (a lookup may block), connected on it.
            var addresses = await Dns.GetHostAddressesAsync(named.Host).WaitAsync(timeout);
            await loop.SwitchTo();
            target = new IPEndPoint(addresses.FirstOrDefault() ?? throw new SocketException((int)SocketError.HostNotFound), named.Port);
        }

        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        LoopSocket? connection = null;
        try
        {
            connection = new LoopSocket(loop, socket);
            try
            {
                socket.Connect(target);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                await connection._send.WaitWritable(connection.Deadline(timeout));
                var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error != SocketError.Success)
                {
                    throw new SocketException((int)error);
                }
            }

            return connection;
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

    /// <summary>Whether the loop saw the peer close or reset the connection (or it was shut down for receiving).</summary>
    public bool HungUp => _hungUp;

    public bool Poll(int microseconds, SelectMode mode) => Socket.Poll(microseconds, mode);

    public void Shutdown(SocketShutdown how) => Socket.Shutdown(how);

    /// <summary>Takes the socket off the loop, for another owner (Kestrel, at a hand-over); on the loop's thread.</summary>
    public Socket Detach()
    {
        Unregister();
        Socket.Blocking = true;
        return Socket;
    }

    /// <summary>Closes the socket; a receive or send waiting on it fails as a closed <see cref="Socket"/>'s do. Any thread.</summary>
    public void Dispose()
    {
        if (EventLoop.Current != Loop)
        {
            Loop.Post(static s => ((LoopSocket)s!).Close(), this);
            return;
        }

        Close();
    }

    // Dispose on the loop's thread (or once the loop ended).
    internal void Close()
    {
        Unregister();
        Socket.Dispose();
        _receive.Abort();
        _send.Abort();
    }

    internal void OnEvents(uint events)
    {
        if ((events & (Epoll.Err | Epoll.Hup | Epoll.RdHup)) != 0)
        {
            _hungUp = true;
        }

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

    /// <summary>Fails the waits whose deadline is before <paramref name="now"/>.</summary>
    internal void Expire(long now)
    {
        _receive.Expire(now);
        _send.Expire(now);
    }

    private long Deadline(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Loop.Now + (long)timeout.TotalMilliseconds;

    private static SocketException Aborted() => new((int)SocketError.OperationAborted);

    private void Unregister()
    {
        if (_registered)
        {
            _registered = false;
            Loop.Unregister(_key, _fd);
        }
    }

    /// <summary>
    /// A receive, send or connect waiting for the socket; what <see cref="LoopResult"/> awaits. Completed on the loop's
    /// thread, which runs the awaiting continuation inline; reused by the socket's next wait once its result was taken.
    /// </summary>
    internal sealed class Operation(LoopSocket owner)
    {
        private Memory<byte> _buffer;
        private int _done;
        private bool _connect;
        private long _deadline;
        private Action? _continuation;
        private int _result;
        private Exception? _error;

        public bool Pending { get; private set; }

        public bool IsCompleted { get; private set; }

        public LoopResult Wait(Memory<byte> buffer, int done, long deadline)
        {
            Start(deadline);
            _buffer = buffer;
            _done = done;
            return new LoopResult(this);
        }

        public LoopResult WaitWritable(long deadline)
        {
            Start(deadline);
            _connect = true;
            return new LoopResult(this);
        }

        public void TryReceive()
        {
            var n = SocketCalls.Receive(owner._fd, _buffer.Span, out var error);
            if (error == SocketError.WouldBlock)
            {
                owner._readable = false;
                return;
            }

            if (error == SocketError.Success)
            {
                owner._readable = owner._hungUp || (n == _buffer.Length && n > 0);
                Complete(n, null);
            }
            else
            {
                Complete(0, new SocketException((int)error));
            }
        }

        public void TrySend()
        {
            if (_connect)
            {
                Complete(0, null);
                return;
            }

            while (_done < _buffer.Length)
            {
                var n = SocketCalls.Send(owner._fd, _buffer.Span[_done..], out var error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success)
                {
                    Complete(0, new SocketException((int)error));
                    return;
                }

                _done += n;
            }

            Complete(_done, null);
        }

        public void Expire(long now)
        {
            if (Pending && now >= _deadline)
            {
                Complete(0, new TimeoutException("The socket was not ready within the timeout."));
            }
        }

        public void Abort()
        {
            if (Pending)
            {
                Complete(0, Aborted());
            }
        }

        public int GetResult()
        {
            if (!IsCompleted)
            {
                throw new InvalidOperationException("The socket's wait has not completed.");
            }

            var error = _error;
            _error = null;
            return error is null ? _result : throw error;
        }

        public void OnCompleted(Action continuation)
        {
            if (IsCompleted)
            {
                continuation();
                return;
            }

            _continuation = continuation;
        }

        private void Start(long deadline)
        {
            _deadline = deadline;
            _connect = false;
            _continuation = null;
            _error = null;
            IsCompleted = false;
            Pending = true;
        }

        private void Complete(int result, Exception? error)
        {
            Pending = false;
            _buffer = default;
            _result = result;
            _error = error;
            IsCompleted = true;
            var continuation = _continuation;
            _continuation = null;
            continuation?.Invoke();
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Relay.Loops;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// One Kestrel endpoint's listen socket, accepted by the balancer itself: a connection to a plain HTTP listener's port
/// is served by a <see cref="RelayConnection"/> on the raw socket (no Kestrel transport under it, so a request is one
/// receive); any other connection (TCP and HTTPS listeners, the admin endpoint) goes to Kestrel at once as its own
/// socket transport would have made it, and so does a relayed connection at a request the relay does not serve, with
/// the bytes the relay read first (<see cref="HandedOverConnection"/>).
/// </summary>
internal sealed partial class RelayListener : IConnectionListener
{
    // How long an unbound listener lets relayed exchanges in flight finish before it returns (they go on until
    // DisposeAsync aborts them, which Kestrel calls after its own connections closed or its shutdown timeout).
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(30);

    private readonly Http1Relay _relay;
    private readonly Socket _socket;
    private readonly SocketTransportOptions _options;
    private readonly SocketConnectionContextFactory _contexts;
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<RelayConnection, Task> _relayed = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;
    private readonly ILogger _logger;
    private volatile bool _unbound;

    public RelayListener(Http1Relay relay, EndPoint endpoint, SocketTransportOptions options, SocketConnectionContextFactory contexts, ILogger logger)
    {
        _relay = relay;
        _options = options;
        _contexts = contexts;
        _logger = logger;
        try
        {
            _socket = options.CreateBoundListenSocket(endpoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // What Kestrel's socket listener throws, and Kestrel's binding (localhost's IPv6 half) expects.
            throw new AddressInUseException(ex.Message, ex);
        }

        _socket.Listen(options.Backlog);
        EndPoint = _socket.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    public EndPoint EndPoint { get; }

    /// <summary>Relayed connections open now: for tests.</summary>
    public int Relaying => _relayed.Count;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        // Null once unbound: Kestrel's accept loop ends there.
        return await _accepted.Reader.WaitToReadAsync(cancellationToken) && _accepted.Reader.TryRead(out var connection) ? connection : null;
    }

    /// <summary>
    /// Gives a relayed connection to Kestrel with the bytes the relay read and did not consume; false when the listener
    /// is unbound (Kestrel accepts no more from it) and the connection should close.
    /// </summary>
    public bool HandOver(Socket socket, ReadOnlyMemory<byte> unconsumed)
    {
        if (_unbound)
        {
            return false;
        }

        // Kestrel owns (and disposes) what it accepts.
#pragma warning disable CA2000
        var connection = new HandedOverConnection(_contexts.Create(socket), unconsumed);
#pragma warning restore CA2000
        if (_accepted.Writer.TryWrite(connection))
        {
            return true;
        }

        // Unbound in between: Kestrel will not serve it.
        _ = connection.DisposeAsync().AsTask();
        return false;
    }

    /// <summary>
    /// Stops accepting; relayed connections close when idle and after the exchange in flight, for which it waits (at
    /// most <see cref="s_drainTimeout"/> or until <paramref name="cancellationToken"/>).
    /// </summary>
    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        _socket.Dispose();
        await _acceptLoop;
        _accepted.Writer.TryComplete();
        foreach (var connection in _relayed.Keys)
        {
            connection.Stop();
        }

        if (_relayed.IsEmpty)
        {
            _drained.TrySetResult();
        }

        try
        {
            await _drained.Task.WaitAsync(s_drainTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            LogDrainTimedOut(_logger, EndPoint, _relayed.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_unbound)
        {
            _unbound = true;
            _socket.Dispose();
            await _acceptLoop;
            _accepted.Writer.TryComplete();
        }

        foreach (var connection in _relayed.Keys)
        {
            connection.Abort();
        }

        foreach (var run in _relayed.Values)
        {
            // Failures are ForgetAsync's to log.
            await run.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        _contexts.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        // The loop runs on as the accept completions arrive, not on Kestrel's thread that bound the listener.
        await Task.Yield();
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync();
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (_unbound || ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.InvalidArgument)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted, as Kestrel's listener skips it.
                continue;
            }

            Serve(accepted);
        }
    }

    private void Serve(Socket socket)
    {
        if (socket.LocalEndPoint is IPEndPoint { AddressFamily: not AddressFamily.Unix })
        {
            socket.NoDelay = _options.NoDelay;
        }

        if (socket.LocalEndPoint is not IPEndPoint local
            || socket.RemoteEndPoint is not IPEndPoint remote
            || _relay.Store.Current is not { } model
            || !model.ListenersByPort.TryGetValue(local.Port, out var listener)
            || listener.Protocol != ListenerProtocol.Http)
        {
            _accepted.Writer.TryWrite(_contexts.Create(socket));
            return;
        }

        var loop = _relay.NextLoop();
        loop.Post(
            static state =>
            {
                var (listener, loop, socket, port, address) = ((RelayListener, EventLoop, Socket, int, IPAddress))state!;
                var connection = new RelayConnection(listener._relay, listener, new LoopSocket(loop, socket), port, address);
                var run = connection.RunAsync();
                listener._relayed[connection] = run;
                _ = listener.ForgetAsync(connection, run);
            },
            (this, loop, socket, local.Port, remote.Address));
    }

    private async Task ForgetAsync(RelayConnection connection, Task run)
    {
        try
        {
            await run;
        }
        catch (Exception ex)
        {
            // RunAsync ends what it expects by itself; anything else is a bug, logged as Kestrel logs a middleware's.
            LogFailed(_logger, ex);
        }
        finally
        {
            _relayed.TryRemove(connection, out _);
            if (_unbound && _relayed.IsEmpty)
            {
                _drained.TrySetResult();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A relayed connection failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {EndPoint} unbound with {Count} relayed connections still in an exchange")]
    private static partial void LogDrainTimedOut(ILogger logger, EndPoint endPoint, int count);
}

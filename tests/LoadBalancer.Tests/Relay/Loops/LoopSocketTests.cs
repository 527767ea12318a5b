using System.Net;
using System.Net.Sockets;
using Berth.LoadBalancer.Relay.Loops;
using Berth.TestSupport;

namespace Berth.LoadBalancer.Tests.Relay.Loops;

/// <summary>
/// The relay's event loop and its sockets (<c>Relay/Loop</c>), against real TCP peers on loopback: waits complete on
/// the loop's thread when the socket becomes ready, fail at their deadline, and fail when the socket is closed from
/// another thread; a send larger than the socket's buffers waits for room until all of it is sent.
/// </summary>
public sealed class LoopSocketTests : IDisposable
{
    private readonly EventLoop _loop = new(0, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public LoopSocketTests() => _listener.Start();

    public void Dispose()
    {
        _listener.Dispose();
        _loop.Dispose();
    }

    [Fact]
    public async Task Receive_WaitsForTheBytes_AndCompletesOnTheLoopsThread()
    {
        var (socket, peer) = await ConnectAsync();
        using var _ = peer;
        var received = OnLoop(async () =>
        {
            var buffer = new byte[16];
            var n = await socket.ReceiveAsync(buffer, TimeSpan.FromMinutes(1));
            return (n, Thread.CurrentThread.Name, EventLoop.Current == _loop);
        });

        Assert.False(received.IsCompleted);
        await peer.SendAsync("hello"u8.ToArray(), SocketFlags.None).WithTimeout();
        var (count, thread, onLoop) = await received.WithTimeout();
        Assert.Equal(5, count);
        Assert.Equal("Berth relay loop 0", thread);
        Assert.True(onLoop);
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });
    }

    [Fact]
    public async Task Receive_ReturnsZero_WhenThePeerCloses()
    {
        var (socket, peer) = await ConnectAsync();
        var received = OnLoop(async () => await socket.ReceiveAsync(new byte[16], TimeSpan.FromMinutes(1)));
        peer.Dispose();
        Assert.Equal(0, await received.WithTimeout());
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });
    }

    [Fact]
    public async Task Receive_AfterTheLastBytes_ReturnsZero_WhenTheirEdgeAlsoReportedTheClose()
    {
        var (socket, peer) = await ConnectAsync();
        using var _ = peer;
        var received = OnLoop(async () =>
        {
            var buffer = new byte[16];
            var first = await socket.ReceiveAsync(buffer, TimeSpan.FromMinutes(1));
            var second = await socket.ReceiveAsync(buffer, TimeSpan.FromMinutes(1));
            return (first, second);
        });

        // The loop is kept busy while the bytes and the FIN arrive, so that one event reports both: the first receive
        // gets fewer bytes than it asked for, and no edge will follow for the close.
        using var busy = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(
            static state =>
            {
                var (busy, blocked) = ((ManualResetEventSlim, TaskCompletionSource))state!;
                blocked.SetResult();
                busy.Wait();
            },
            (busy, blocked));
        await blocked.Task.WithTimeout();
        await peer.SendAsync("hello"u8.ToArray(), SocketFlags.None).WithTimeout();
        peer.Shutdown(SocketShutdown.Send);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(socket.Socket.Available == 5), what: "the bytes to arrive");

        busy.Set();
        Assert.Equal((5, 0), await received.WithTimeout());
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });
    }

    [Fact]
    public async Task Receive_FailsWithATimeout_AtItsDeadline()
    {
        var (socket, peer) = await ConnectAsync();
        using var _ = peer;
        var started = DateTime.UtcNow;
        var received = OnLoop(async () => await socket.ReceiveAsync(new byte[16], TimeSpan.FromMilliseconds(300)));
        await Assert.ThrowsAsync<TimeoutException>(() => received.WithTimeout());
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(300));

        // The socket is still usable after a timed-out wait.
        await peer.SendAsync("x"u8.ToArray(), SocketFlags.None).WithTimeout();
        Assert.Equal(1, await OnLoop(async () => await socket.ReceiveAsync(new byte[16], TimeSpan.FromMinutes(1))).WithTimeout());
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });
    }

    [Fact]
    public async Task Dispose_FromAnotherThread_FailsAWaitingReceive()
    {
        var (socket, peer) = await ConnectAsync();
        using var _ = peer;
        var received = OnLoop(async () => await socket.ReceiveAsync(new byte[16], TimeSpan.FromMinutes(1)));
        Assert.False(received.IsCompleted);
        socket.Dispose();
        var error = await Assert.ThrowsAsync<SocketException>(() => received.WithTimeout());
        Assert.Equal(SocketError.OperationAborted, error.SocketErrorCode);

        // And the peer sees the connection closed.
        Assert.Equal(0, await peer.ReceiveAsync(new byte[16], SocketFlags.None).WithTimeout());
    }

    [Fact]
    public async Task Send_LargerThanTheSocketBuffers_WaitsForRoom_UntilAllIsSent()
    {
        var (socket, peer) = await ConnectAsync();
        using var _ = peer;
        var payload = new byte[16 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        var sent = OnLoop(async () => await socket.SendAsync(payload, TimeSpan.FromMinutes(1)));

        // Nothing read yet: 16 MiB do not fit loopback's buffers, so the send waits.
        Assert.False(sent.IsCompleted);
        var received = new byte[payload.Length];
        var total = 0;
        while (total < received.Length)
        {
            var n = await peer.ReceiveAsync(received.AsMemory(total), SocketFlags.None).AsTask().WithTimeout();
            Assert.NotEqual(0, n);
            total += n;
        }

        Assert.Equal(payload.Length, await sent.WithTimeout());
        Assert.Equal(payload, received);
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });
    }

    [Fact]
    public async Task Connect_ToAListeningPort_Connects_AndToAClosedOne_IsRefused()
    {
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        var accepted = _listener.AcceptSocketAsync();
        var socket = await OnLoop(async () => await LoopSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromMinutes(1))).WithTimeout();
        using var peer = await accepted.WithTimeout();
        await OnLoop(async () => await socket.SendAsync("ping"u8.ToArray(), TimeSpan.FromMinutes(1))).WithTimeout();
        var buffer = new byte[4];
        Assert.Equal(4, await peer.ReceiveAsync(buffer, SocketFlags.None).WithTimeout());
        await OnLoop(() => { socket.Dispose(); return Task.FromResult(0); });

        var closed = TestPorts.Next();
        var refused = await Assert.ThrowsAsync<SocketException>(() => OnLoop(async () => await LoopSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, closed), TimeSpan.FromMinutes(1))).WithTimeout());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    // A loop socket connected to a peer socket of the test's.
    private async Task<(LoopSocket Socket, Socket Peer)> ConnectAsync()
    {
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        var accepted = _listener.AcceptSocketAsync();
        var socket = await OnLoop(async () => await LoopSocket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromMinutes(1))).WithTimeout();
        return (socket, await accepted.WithTimeout());
    }

    // Runs work on the loop's thread, as the relay's connections run.
    private Task<T> OnLoop<T>(Func<Task<T>> work)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(static state => _ = RunAsync(((Func<Task<T>>, TaskCompletionSource<T>))state!), (work, result));
        return result.Task;

        static async Task RunAsync((Func<Task<T>> Work, TaskCompletionSource<T> Result) state)
        {
            try
            {
                state.Result.SetResult(await state.Work());
            }
            catch (Exception ex)
            {
                state.Result.SetException(ex);
            }
        }
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Berth.LoadBalancer.Relay.Loops;
using Microsoft.AspNetCore.Connections;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// One client connection on the relay, on the socket its <see cref="RelayListener"/> accepted: reads request heads into
/// its own buffer (<see cref="SocketInput"/>) and answers by writing to the socket; a request it does not serve hands
/// the connection, with the bytes read and not consumed, to Kestrel. Exchanges run one at a time, each on a target
/// connection of its own.
/// </summary>
// The timer and the input are disposed when RunAsync, the one thing a RelayConnection is made for, ends.
#pragma warning disable CA1001
internal sealed partial class RelayConnection(Http1Relay relay, RelayListener listener, LoopSocket client, int port, IPAddress remote)
#pragma warning restore CA1001
{
    /// <summary>A head larger than this goes to Kestrel (whose own limit is 32 KiB).</summary>
    public const int MaxRequestHead = 8 * 1024;

    // Room for a response head (at most a target buffer's) with the fields the relay adds, and a chunk's size line.
    private const int ClientBufferSize = UpstreamConnection.BufferSize + 512;

    // Where the connection is, for Stop: between requests with nothing buffered (a read may be waiting for the next
    // request), or in a request.
    private const int Busy = 0;
    private const int Idle = 1;

    private readonly SocketInput _input = new(client);
    private readonly byte[] _port = Encoding.ASCII.GetBytes(port.ToString(CultureInfo.InvariantCulture));
    private readonly byte[] _clientAddress = Encoding.ASCII.GetBytes((remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString());
    private int _state;
    private volatile bool _stopping;
    private volatile bool _handedOver;

    public async Task RunAsync()
    {
        try
        {
            while (true)
            {
                if (_input.Unconsumed.IsEmpty)
                {
                    // Between requests: a listener that stops closes the connection now (Stop sees Idle) or here.
                    Interlocked.Exchange(ref _state, Idle);
                    if (_stopping)
                    {
                        break;
                    }
                }

                ReadResult read;
                try
                {
                    read = await _input.ReadAsync(relay.KeepAliveTimeout);
                    Interlocked.Exchange(ref _state, Busy);
                }
                catch (TimeoutException)
                {
                    // Idle past the keep-alive timeout: close, as Kestrel does; a head begun but not finished goes to
                    // Kestrel, which times it out by its own rules.
                    if (_input.TryRead(out read) && !read.Buffer.IsEmpty)
                    {
                        HandOver();
                    }

                    break;
                }

                var buffer = read.Buffer;
                var headLength = HeadLength(buffer);
                if (headLength < 0)
                {
                    if (read.IsCompleted && buffer.IsEmpty)
                    {
                        // The client closed between requests (or the listener stopped an idle connection).
                        break;
                    }

                    if (buffer.Length <= MaxRequestHead && !read.IsCompleted)
                    {
                        _input.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }

                    _input.AdvanceTo(buffer.Start);
                    HandOver();
                    break;
                }

                var head = buffer.Slice(0, headLength);
                var body = buffer.Slice(headLength);
                var scratch = ArrayPool<byte>.Shared.Rent(ClientBufferSize);
                try
                {
                    if (!relay.Router.TryRoute(relay.Store.Current, port, Contiguous(head, scratch), out var request, out var cluster, out var first))
                    {
                        _input.AdvanceTo(buffer.Start);
                        HandOver();
                        break;
                    }

                    // A request that arrived as the listener stopped is served, and the connection closes after it.
                    relay.Count(cluster.ClusterId);
                    if (!await ExchangeAsync(head, body, request, cluster, first, scratch) || _stopping)
                    {
                        break;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(scratch);
                }
            }

            if (!_handedOver)
            {
                // As Kestrel's transport ends a connection: both directions shut down, then closed.
                client.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ConnectionResetException or ConnectionAbortedException or TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away, or the response broke off after it began (the target failed or timed out): the
            // connection ends, as on YARP's path.
            LogAborted(relay.Logger, ex.Message);
        }
        finally
        {
            if (!_handedOver)
            {
                client.Dispose();
            }

            _input.Dispose();
        }
    }

    /// <summary>
    /// The listener stops: an idle connection closes now (a read waiting for the next request ends with nothing), a
    /// busy one after its exchange.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        if (Interlocked.CompareExchange(ref _state, Busy, Idle) == Idle)
        {
            try
            {
                client.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Closed already.
            }
        }
    }

    /// <summary>The listener is disposed: whatever is still in flight ends.</summary>
    public void Abort()
    {
        if (!_handedOver)
        {
            client.Dispose();
        }
    }

    // Kestrel takes the connection from the request at the input's start; once the listener stopped it closes.
    private void HandOver() => _handedOver = listener.HandOver(client.Detach(), _input.Unconsumed);

    /// <summary>
    /// Forwards one request and relays its response. False when the client connection ends after it (the client asked
    /// for that). Retries, like YARP's path with <c>Routing/PassiveHealthRetry</c>: a reused target connection the
    /// target had closed while idle is replaced by a new one; a target that refuses a new connection or drops it before
    /// its response is ejected, and a GET or HEAD without a body goes to another target (the same one, on a new
    /// connection, when its group has no other), up to <see cref="MaxRetries"/> times.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ExchangeAsync(ReadOnlySequence<byte> head, ReadOnlySequence<byte> buffered, RequestHead request, ClusterState cluster, DestinationState destination, byte[] scratch)
    {
        // Retries left for a GET or HEAD whose connection failed before any response byte. SocketsHttpHandler sends such
        // a request again on new connections a few times on YARP's path; one retry was not enough where gVisor drops
        // fresh connections under load (a loaded CI run: all three targets ejected in 2 s, then 2 of 60 requests 502).
        var retries = MaxRetries;
        while (true)
        {
            var link = relay.Link(cluster, destination);
            Interlocked.Increment(ref link.InFlight);
            UpstreamConnection? upstream = null;
            try
            {
                upstream = Take(link.Pool, request.ContentLength > 0);
                var fresh = upstream is null;
                var received = 0;
                string? failure = null;
                while (true)
                {
                    if (upstream is null)
                    {
                        try
                        {
                            upstream = await link.Pool.ConnectAsync(relay.IdleTimeout);
                        }
                        catch (Exception ex) when (ex is SocketException or TimeoutException)
                        {
                            failure = ex.Message;
                            break;
                        }
                    }

                    received = request.ContentLength > 0
                        ? await SendWithBodyAsync(upstream, head, buffered, request, scratch)
                        : await SendAsync(upstream, head, request, scratch);
                    if (received > 0)
                    {
                        break;
                    }

                    upstream.Dispose();
                    upstream = null;
                    if (received == TimedOut)
                    {
                        return await FailAsync(504, head, request, scratch);
                    }

                    // Closed or reset before any response byte: on a reused connection the target may just have closed
                    // it while idle (a new one is tried, if the request can be sent again); on a new one it dropped the
                    // request.
                    if (!fresh && request.ContentLength <= 0)
                    {
                        fresh = true;
                        continue;
                    }

                    failure = "The target closed the connection before responding.";
                    break;
                }

                if (upstream is null)
                {
                    if (fresh)
                    {
                        relay.Eject(cluster, destination, failure!);
                    }

                    // To another target (as Routing/PassiveHealthRetry on YARP's path), or to the same one on a new
                    // connection when its group has none: on YARP's path SocketsHttpHandler itself sends a request again
                    // whose connection closed before any response byte (PassiveHealthTests).
                    if (retries-- > 0 && request.Retryable && request.ContentLength <= 0)
                    {
                        var other = relay.Router.Pick(cluster, destination) ?? destination;
                        LogRetrying(relay.Logger, destination.DestinationId, other.DestinationId);
                        destination = other;
                        continue;
                    }

                    return await FailAsync(502, head, request, scratch);
                }

                // The response began: the request is the target's now.
                Consume(head, request);
                if (await RelayResponseAsync(upstream, received, request, scratch))
                {
                    link.Pool.Return(upstream);
                    upstream = null;
                }

                return !request.Close;
            }
            finally
            {
                upstream?.Dispose();
                Interlocked.Decrement(ref link.InFlight);
            }
        }
    }

    // An idle connection of the pool, skipping those whose close the loop already saw. One that will carry a body must
    // still be open: the body is consumed as it is sent, so the request could not go again on a new connection. A poll
    // tells without a read (readable while idle means closed, or bytes the target should not have sent).
    private static UpstreamConnection? Take(UpstreamPool pool, bool body)
    {
        while (pool.TryTake() is { } upstream)
        {
            if (!upstream.Socket.HungUp && (!body || !upstream.Socket.Poll(0, SelectMode.SelectRead)))
            {
                return upstream;
            }

            upstream.Dispose();
        }

        return null;
    }

    // Marks the request's bytes read; for a request with a body, SendWithBodyAsync did that already.
    private void Consume(ReadOnlySequence<byte> head, RequestHead request)
    {
        if (request.ContentLength <= 0)
        {
            _input.AdvanceTo(head.End);
        }
    }

    // The error answer for a request no target answered. After a body the connection ends: how much of the body the
    // client sent, and where its next request would begin, is not known once a send to the target failed.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FailAsync(int status, ReadOnlySequence<byte> head, RequestHead request, byte[] scratch)
    {
        var close = request.Close || request.ContentLength > 0;
        await WriteErrorAsync(scratch, status, close);
        Consume(head, request);
        return !close;
    }

    private const int TimedOut = -1;

    /// <summary>How many times a dropped GET or HEAD is sent again, each time on a new connection.</summary>
    private const int MaxRetries = 3;

    /// <summary>
    /// Sends a request without a body and waits for the first response bytes; the bytes received, 0 when the target
    /// closed or reset the connection first, <see cref="TimedOut"/>. The request's bytes stay in the input pipe, so
    /// that a retry can send them again.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendAsync(UpstreamConnection upstream, ReadOnlySequence<byte> head, RequestHead request, byte[] scratch)
    {
        var length = request.WriteForwarded(Contiguous(head, scratch), upstream.Buffer, _clientAddress, _port);
        try
        {
            await upstream.Socket.SendAsync(upstream.Buffer.AsMemory(0, length), relay.IdleTimeout);
            return await upstream.Socket.ReceiveAsync(upstream.Buffer.AsMemory(), relay.IdleTimeout);
        }
        catch (SocketException)
        {
            return 0;
        }
        catch (TimeoutException)
        {
            return TimedOut;
        }
    }

    /// <summary>
    /// Sends a request with a Content-Length body (consumed from the input pipe as it goes) and waits for the first
    /// response bytes; returns as <see cref="SendAsync"/>. A body already read with the head goes in the same write.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendWithBodyAsync(UpstreamConnection upstream, ReadOnlySequence<byte> head, ReadOnlySequence<byte> buffered, RequestHead request, byte[] scratch)
    {
        var length = request.WriteForwarded(Contiguous(head, scratch), upstream.Buffer, _clientAddress, _port);
        var first = buffered.Slice(0, Math.Min(buffered.Length, Math.Min(request.ContentLength, upstream.Buffer.Length - length)));
        first.CopyTo(upstream.Buffer.AsSpan(length));
        length += (int)first.Length;
        var remaining = request.ContentLength - first.Length;
        _input.AdvanceTo(first.End);
        try
        {
            await upstream.Socket.SendAsync(upstream.Buffer.AsMemory(0, length), relay.IdleTimeout);
            while (remaining > 0)
            {
                var read = await _input.ReadAsync(relay.IdleTimeout);
                if (read.Buffer.IsEmpty && read.IsCompleted)
                {
                    throw new IOException("The client closed the connection in the middle of the request body.");
                }

                var part = read.Buffer.Slice(0, Math.Min(read.Buffer.Length, remaining));
                foreach (var segment in part)
                {
                    await upstream.Socket.SendAsync(segment, relay.IdleTimeout);
                }

                remaining -= part.Length;
                _input.AdvanceTo(part.End);
            }

            return await upstream.Socket.ReceiveAsync(upstream.Buffer.AsMemory(), relay.IdleTimeout);
        }
        catch (SocketException)
        {
            return 0;
        }
        catch (TimeoutException) when (remaining == 0)
        {
            return TimedOut;
        }
    }

    /// <summary>
    /// Copies the response whose first bytes are in the target connection's buffer to the client, following its framing
    /// to know where it ends; true when the target connection may serve another exchange.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RelayResponseAsync(UpstreamConnection upstream, int received, RequestHead request, byte[] scratch)
    {
        var (filled, headLength) = await ReadHeadAsync(upstream, received);
        var buffer = upstream.Buffer;
        if (headLength < 0 || !ResponseHead.TryParse(buffer.AsSpan(0, headLength), request.IsHead, out var response))
        {
            // SocketsHttpHandler rejects such a response too, and YARP's path answers 502.
            await WriteErrorAsync(scratch, 502, request.Close);
            return false;
        }

        var written = response.WriteForClient(buffer.AsSpan(0, headLength), scratch, request.Close, relay.Date.Now);
        if (written < 0)
        {
            await WriteErrorAsync(scratch, 502, request.Close);
            return false;
        }

        var chunked = default(ChunkedFraming);
        var remaining = response.Framing == BodyFraming.ContentLength ? response.ContentLength : 0;
        var (forward, consumed, done) = Frame(buffer.AsSpan(headLength, filled - headLength), response.Framing, ref remaining, ref chunked);
        if (forward < 0)
        {
            throw new IOException("The target's chunked framing is malformed.");
        }

        // The head and the body's first bytes in one write (for small responses, the whole response).
        written += Wrap(buffer.AsSpan(headLength, forward), scratch.AsSpan(written), response.Framing, done);
        await Send(scratch.AsMemory(0, written));
        var excess = headLength + consumed < filled;
        if (done)
        {
            return !response.TargetCloses && !excess;
        }

        // The rest of a larger body through a larger buffer: 64 KiB, as YARP's stream copier, for as long as it lasts.
        var body = ArrayPool<byte>.Shared.Rent(BodyBufferSize);
        try
        {
            while (!done)
            {
                var room = response.Framing == BodyFraming.UntilClose ? body.AsMemory(ChunkPrefix, body.Length - ChunkPrefix - 2) : body.AsMemory();
                if (response.Framing == BodyFraming.ContentLength && remaining < room.Length)
                {
                    room = room[..(int)remaining];
                }

                var n = await upstream.Socket.ReceiveAsync(room, relay.IdleTimeout);
                if (n == 0 && response.Framing == BodyFraming.UntilClose)
                {
                    await Send(s_lastChunk);
                    return false;
                }

                if (n == 0)
                {
                    throw new IOException("The target closed the connection in the middle of the response body.");
                }

                (forward, consumed, done) = Frame(room.Span[..n], response.Framing, ref remaining, ref chunked);
                if (forward < 0)
                {
                    throw new IOException("The target's chunked framing is malformed.");
                }

                excess = consumed < n;
                var (offset, length) = WrapInPlace(body, response.Framing == BodyFraming.UntilClose ? ChunkPrefix : 0, forward, response.Framing, done);
                await Send(body.AsMemory(offset, length));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        return !response.TargetCloses && !excess;
    }

    private const int BodyBufferSize = 64 * 1024;

    // Space before the bytes of a chunk the relay makes (a body the target ends by closing): "ffffffff\r\n".
    private const int ChunkPrefix = 10;

    private static readonly ReadOnlyMemory<byte> s_lastChunk = "0\r\n\r\n"u8.ToArray();

    /// <summary>
    /// How many of <paramref name="bytes"/> belong to the response (<c>consumed</c>), how many of those go to the client
    /// (<c>forward</c>, -1 on a framing error) and whether the body is complete.
    /// </summary>
    private static (int Forward, int Consumed, bool Done) Frame(ReadOnlySpan<byte> bytes, BodyFraming framing, ref long remaining, ref ChunkedFraming chunked)
    {
        switch (framing)
        {
            case BodyFraming.None:
                return (0, 0, true);
            case BodyFraming.ContentLength:
                var take = (int)Math.Min(remaining, bytes.Length);
                remaining -= take;
                return (take, take, remaining == 0);
            case BodyFraming.Chunked:
                return chunked.Read(bytes, out var consumed, out var forward) ? (forward, consumed, chunked.Done) : (-1, 0, false);
            default:
                return (bytes.Length, bytes.Length, false);
        }
    }

    // Copies body bytes after a head in the client buffer, framed for the client: a chunk of their own for a body the
    // target ends by closing, the empty line that ends a chunked body once its trailer section (not passed on) ended.
    private static int Wrap(ReadOnlySpan<byte> body, Span<byte> destination, BodyFraming framing, bool done)
    {
        var written = 0;
        if (framing == BodyFraming.UntilClose && body.Length > 0)
        {
            Utf8Formatter.TryFormat(body.Length, destination, out written, new StandardFormat('x'));
            "\r\n"u8.CopyTo(destination[written..]);
            written += 2;
        }

        body.CopyTo(destination[written..]);
        written += body.Length;
        if ((framing == BodyFraming.UntilClose && body.Length > 0) || (framing == BodyFraming.Chunked && done))
        {
            "\r\n"u8.CopyTo(destination[written..]);
            written += 2;
        }

        return written;
    }

    // The same framing around bytes received at buffer[start..]: for the relay's own chunks the size line goes into
    // the space left before them; the empty line after them overwrites received bytes not passed on (or free space).
    private static (int Offset, int Length) WrapInPlace(byte[] buffer, int start, int forward, BodyFraming framing, bool done)
    {
        var end = start + forward;
        if (framing == BodyFraming.UntilClose)
        {
            Span<byte> size = stackalloc byte[8];
            Utf8Formatter.TryFormat(forward, size, out var digits, new StandardFormat('x'));
            var offset = start - digits - 2;
            size[..digits].CopyTo(buffer.AsSpan(offset));
            "\r\n"u8.CopyTo(buffer.AsSpan(start - 2));
            "\r\n"u8.CopyTo(buffer.AsSpan(end));
            return (offset, end + 2 - offset);
        }

        if (framing == BodyFraming.Chunked && done)
        {
            "\r\n"u8.CopyTo(buffer.AsSpan(end));
            end += 2;
        }

        return (start, end - start);
    }

    /// <summary>
    /// Reads until the buffer holds a whole response head, skipping interim (1xx) ones as SocketsHttpHandler does; the
    /// bytes held and the head's length (-1 when the head does not fit the buffer).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(int Filled, int HeadLength)> ReadHeadAsync(UpstreamConnection upstream, int filled)
    {
        var buffer = upstream.Buffer;
        while (true)
        {
            var end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var headLength = end + 4;
                // "HTTP/1.1 1xx": an interim response (100 Continue, 103 Early Hints); 101 never comes, as Upgrade is
                // not forwarded.
                if (headLength > 12 && buffer[9] == '1')
                {
                    buffer.AsSpan(headLength, filled - headLength).CopyTo(buffer);
                    filled -= headLength;
                    continue;
                }

                return (filled, headLength);
            }

            if (filled == buffer.Length)
            {
                return (filled, -1);
            }

            var n = await upstream.Socket.ReceiveAsync(buffer.AsMemory(filled), relay.IdleTimeout);
            if (n == 0)
            {
                throw new IOException("The target closed the connection in the response head.");
            }

            filled += n;
        }
    }

    /// <summary>The answer YARP's path gives when the target failed (502) or timed out (504) before responding.</summary>
    private LoopResult WriteErrorAsync(byte[] scratch, int status, bool close)
    {
        var written = 0;
        Append(scratch, ref written, status == 502 ? "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nDate: "u8 : "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nDate: "u8);
        Append(scratch, ref written, relay.Date.Now);
        Append(scratch, ref written, close ? "\r\nConnection: close\r\n\r\n"u8 : "\r\n\r\n"u8);
        return Send(scratch.AsMemory(0, written));

        static void Append(Span<byte> span, ref int written, ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(span[written..]);
            written += bytes.Length;
        }
    }

    private LoopResult Send(ReadOnlyMemory<byte> bytes) => client.SendAsync(bytes, relay.IdleTimeout);

    // The head's bytes as one span: the pipe's segment itself, or a copy when the head spans segments.
    private static ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> head, byte[] scratch)
    {
        if (head.IsSingleSegment)
        {
            return head.FirstSpan;
        }

        head.CopyTo(scratch);
        return scratch.AsSpan(0, (int)head.Length);
    }

    // The length of the head through its empty line, or -1 while it is incomplete (or too large for the relay).
    private static int HeadLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            var index = buffer.FirstSpan.IndexOf("\r\n\r\n"u8);
            return index < 0 || index + 4 > MaxRequestHead ? -1 : index + 4;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) && reader.Consumed <= MaxRequestHead ? (int)reader.Consumed : -1;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying a request on {Other} after {Target} refused or dropped the connection")]
    private static partial void LogRetrying(ILogger logger, string target, string other);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Relayed connection ended: {Reason}")]
    private static partial void LogAborted(ILogger logger, string reason);
}

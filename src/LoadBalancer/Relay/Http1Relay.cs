using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.State;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// The HTTP/1.1 fast path (<c>Balancer:FastPath</c>): Kestrel connection middleware on plain HTTP listeners that reads
/// each request head off the connection without consuming it and, when it is a request the relay serves exactly as
/// YARP's path would, forwards its bytes to a pooled keep-alive connection of the chosen target and copies the
/// response's bytes back, with no HttpContext, HttpRequestMessage or header strings in between. Anything else is
/// handed, at that request's first byte, to Kestrel and YARP for the rest of the connection (docs/load-balancer.md,
/// "The HTTP/1.1 relay").
/// </summary>
internal sealed partial class Http1Relay(
    ConfigStore store,
    RelayRouter router,
    TargetHealthTable table,
    RequestCounts counts,
    HttpDate date,
    IOptions<BalancerOptions> options,
    ILogger<Http1Relay> logger)
{
    /// <summary>A head larger than this goes to Kestrel (whose own limit is 32 KiB).</summary>
    private const int MaxRequestHead = 8 * 1024;

    private readonly bool _enabled = options.Value.FastPath;
    private readonly ConcurrentDictionary<DestinationState, TargetLink> _targets = new();

    /// <summary>Requests the relay has in flight to a target (draining reports add them to YARP's).</summary>
    public int InFlight(DestinationState destination) => _targets.TryGetValue(destination, out var link) ? Volatile.Read(ref link.InFlight) : 0;

    public Task HandleAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (!_enabled
            || connection.LocalEndPoint is not IPEndPoint local
            || connection.RemoteEndPoint is not IPEndPoint remote
            || store.Current is not { } model
            || !model.ListenersByPort.TryGetValue(local.Port, out var listener)
            || listener.Protocol != ListenerProtocol.Http)
        {
            return next(connection);
        }

        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        return RelayAsync(connection, local.Port, Encoding.ASCII.GetBytes(address.ToString()), next);
    }

    private async Task RelayAsync(ConnectionContext connection, int port, byte[] client, ConnectionDelegate next)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var portText = Encoding.ASCII.GetBytes(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var scratch = ArrayPool<byte>.Shared.Rent(MaxRequestHead);
        try
        {
            while (true)
            {
                var read = await input.ReadAsync();
                var buffer = read.Buffer;
                var headLength = HeadLength(buffer);
                if (headLength < 0)
                {
                    if (read.IsCompleted && buffer.IsEmpty)
                    {
                        // The client closed between requests.
                        input.AdvanceTo(buffer.End);
                        return;
                    }

                    if (buffer.Length <= MaxRequestHead && !read.IsCompleted)
                    {
                        input.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }

                    input.AdvanceTo(buffer.Start);
                    await next(connection);
                    return;
                }

                var head = buffer.Slice(0, headLength);
                if (!Route(head, port, scratch, out var request, out var cluster, out var first))
                {
                    input.AdvanceTo(buffer.Start);
                    await next(connection);
                    return;
                }

                counts.Count(cluster.ClusterId);
                var outcome = await ExchangeAsync(input, output, head, request, cluster, first, client, portText, scratch);
                if (outcome != Outcome.KeepAlive)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away, or the response broke off after it began: the connection ends, as on YARP's path.
            LogAborted(logger, ex.Message);
            connection.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Parses and routes a head; false hands the connection to Kestrel and YARP.</summary>
    private bool Route(ReadOnlySequence<byte> head, int port, byte[] scratch, out RequestHead request, out ClusterState cluster, out DestinationState first)
    {
        request = default;
        cluster = null!;
        first = null!;
        // The listener again per request: a configuration change may have made the port HTTPS, TCP or gone.
        if (store.Current is not { } model
            || !model.ListenersByPort.TryGetValue(port, out var listener)
            || listener.Protocol != ListenerProtocol.Http
            || !RequestHead.TryParse(Contiguous(head, scratch), out request)
            // Request bodies go to YARP for now.
            || request.ContentLength > 0
            || !router.TryRoute(model, listener, out cluster))
        {
            return false;
        }

        // No target at all: YARP's path answers that (503), and counts the request.
        first = router.Pick(cluster, null)!;
        return first is not null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ExchangeAsync(
        PipeReader input,
        PipeWriter output,
        ReadOnlySequence<byte> head,
        RequestHead request,
        ClusterState cluster,
        DestinationState destination,
        byte[] client,
        byte[] portText,
        byte[] scratch)
    {
        DestinationState? failed = null;
        while (true)
        {
            var link = _targets.GetOrAdd(destination, static d => new TargetLink(d));
            Interlocked.Increment(ref link.InFlight);
            UpstreamConnection? upstream = null;
            var received = 0;
            try
            {
                upstream = link.Pool.TryTake();
                var fresh = upstream is null;
                while (true)
                {
                    if (upstream is null)
                    {
                        try
                        {
                            upstream = await link.Pool.ConnectAsync(CancellationToken.None);
                        }
                        catch (SocketException ex)
                        {
                            Eject(cluster, destination, ex.Message);
                            break;
                        }
                    }

                    var length = request.WriteForwarded(Contiguous(head, scratch), upstream.Buffer, client, portText);
                    if (length < 0)
                    {
                        // A head that does not fit with the forwarded fields added: rare; YARP's path would serve it,
                        // but the exchange has begun, so the answer is the one an unreadable request gets.
                        await WriteErrorAsync(output, 502, request.Close);
                        return Outcome.Close;
                    }

                    received = await SendAndReadHeadAsync(upstream, length);
                    if (received > 0)
                    {
                        break;
                    }

                    // Closed or reset before any response byte: on a reused connection the target may simply have
                    // closed it while idle (try a new one); on a new one the target dropped the request.
                    upstream.Dispose();
                    upstream = null;
                    if (!fresh)
                    {
                        fresh = true;
                        continue;
                    }

                    Eject(cluster, destination, "The target closed the connection before responding.");
                    break;
                }

                if (upstream is null)
                {
                    if (failed is null && request.Retryable && router.Pick(cluster, destination) is { } other)
                    {
                        LogRetrying(logger, destination.DestinationId, other.DestinationId);
                        failed = destination;
                        destination = other;
                        continue;
                    }

                    await WriteErrorAsync(output, 502, request.Close);
                    input.AdvanceTo(head.End);
                    return request.Close ? Outcome.Close : Outcome.KeepAlive;
                }

                // The response began: the request's bytes are the target's now.
                input.AdvanceTo(head.End);
                var reuse = await RelayResponseAsync(upstream, received, output, request);
                if (reuse)
                {
                    link.Pool.Return(upstream);
                    upstream = null;
                }

                return request.Close ? Outcome.Close : Outcome.KeepAlive;
            }
            finally
            {
                upstream?.Dispose();
                Interlocked.Decrement(ref link.InFlight);
            }
        }
    }

    /// <summary>
    /// Sends the forwarded head and reads until the response head is complete; the bytes in the buffer, or 0 when the
    /// target closed or reset the connection before its first byte.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> SendAndReadHeadAsync(UpstreamConnection upstream, int length)
    {
        try
        {
            var sent = 0;
            while (sent < length)
            {
                sent += await upstream.Socket.SendAsync(upstream.Buffer.AsMemory(sent, length - sent), SocketFlags.None);
            }

            return await upstream.Socket.ReceiveAsync(upstream.Buffer.AsMemory(), SocketFlags.None);
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Copies the response whose first bytes are in the upstream buffer to the client; true when the upstream connection
    /// may serve another exchange.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RelayResponseAsync(UpstreamConnection upstream, int received, PipeWriter output, RequestHead request)
    {
        var filled = await ReadHeadAsync(upstream, received);
        var headLength = upstream.Buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) + 4;
        if (!ResponseHead.TryParse(upstream.Buffer.AsSpan(0, headLength), request.IsHead, out var response) || response.Framing != BodyFraming.ContentLength && response.Framing != BodyFraming.None)
        {
            await WriteErrorAsync(output, 502, request.Close);
            return false;
        }

        var written = response.WriteForClient(upstream.Buffer.AsSpan(0, headLength), output.GetSpan(headLength + 128), request.Close, date.Now);
        output.Advance(written);
        var extra = filled - headLength;
        var remaining = response.Framing == BodyFraming.ContentLength ? response.ContentLength : 0;
        var now = (int)Math.Min(extra, remaining);
        output.Write(upstream.Buffer.AsSpan(headLength, now));
        remaining -= now;
        while (remaining > 0)
        {
            var memory = output.GetMemory();
            var n = await upstream.Socket.ReceiveAsync(memory[..(int)Math.Min(memory.Length, remaining)], SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("The target closed the connection in the middle of the response body.");
            }

            output.Advance(n);
            remaining -= n;
            if (remaining > 0)
            {
                var flushed = await output.FlushAsync();
                if (flushed.IsCompleted)
                {
                    return false;
                }
            }
        }

        var result = await output.FlushAsync();
        return !result.IsCompleted && !response.TargetCloses && extra <= now;
    }

    // Reads into the upstream buffer until it holds a whole head (1xx heads skipped); returns the bytes held.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> ReadHeadAsync(UpstreamConnection upstream, int filled)
    {
        while (upstream.Buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
        {
            if (filled == upstream.Buffer.Length)
            {
                throw new IOException("The target's response head is larger than the relay's buffer.");
            }

            filled += await upstream.Socket.ReceiveAsync(upstream.Buffer.AsMemory(filled), SocketFlags.None) is var n and > 0 ? n : throw new IOException("The target closed the connection in the response head.");
        }

        return filled;
    }

    private ValueTask<FlushResult> WriteErrorAsync(PipeWriter output, int status, bool close)
    {
        var span = output.GetSpan(256);
        var written = 0;
        Append(span, ref written, status == 502 ? "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nDate: "u8 : "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nDate: "u8);
        Append(span, ref written, date.Now);
        Append(span, ref written, close ? "\r\nConnection: close\r\n\r\n"u8 : "\r\n\r\n"u8);
        output.Advance(written);
        return output.FlushAsync();

        static void Append(Span<byte> span, ref int written, ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(span[written..]);
            written += bytes.Length;
        }
    }

    private void Eject(ClusterState cluster, DestinationState destination, string message)
    {
        if (table.Eject(cluster.ClusterId, destination.DestinationId, $"Connection to the target failed: {message}"))
        {
            LogEjected(logger, destination.DestinationId, cluster.ClusterId);
        }
    }

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

    // The length of the head through its empty line, or -1 while it is incomplete.
    private static int HeadLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            var index = buffer.FirstSpan.IndexOf("\r\n\r\n"u8);
            return index < 0 ? -1 : index + 4;
        }

        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) && reader.Consumed <= MaxRequestHead ? (int)reader.Consumed : -1;
    }

    private enum Outcome
    {
        KeepAlive,
        Close,
    }

    /// <summary>What the relay keeps per target: its idle connections and its requests in flight.</summary>
    private sealed class TargetLink(DestinationState destination)
    {
        public int InFlight;

        public UpstreamPool Pool { get; } = new(EndPointOf(destination));

        private static EndPoint EndPointOf(DestinationState destination)
        {
            var address = new Uri(destination.Model.Config.Address);
            return IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) ? new IPEndPoint(ip, address.Port) : new DnsEndPoint(address.Host, address.Port);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target} of {TargetGroup} refused or dropped a connection: out of rotation until health checks pass")]
    private static partial void LogEjected(ILogger logger, string target, string targetGroup);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying a request on {Other} after {Target} refused or dropped the connection")]
    private static partial void LogRetrying(ILogger logger, string target, string other);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Relayed connection ended: {Reason}")]
    private static partial void LogAborted(ILogger logger, string reason);
}

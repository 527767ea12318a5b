using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// A relayed connection handed to Kestrel: Kestrel's own socket connection, whose input first yields the bytes the
/// relay received but did not consume (the request it does not serve, and whatever followed), then the socket's. A pump
/// copies both into a pipe of its own, as Kestrel's parser expects them in one input; everything else is the socket
/// connection's.
/// </summary>
internal sealed class HandedOverConnection : ConnectionContext
{
    private readonly ConnectionContext _inner;
    private readonly Pipe _input = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Task _pump;

    public HandedOverConnection(ConnectionContext inner, ReadOnlyMemory<byte> unconsumed)
    {
        _inner = inner;
        Transport = new DuplexPipe(_input.Reader, inner.Transport.Output);
        // The relay's buffer goes back to its pool when the relay returns: the prefix is copied first.
        var prefix = ArrayPool<byte>.Shared.Rent(Math.Max(unconsumed.Length, 1));
        unconsumed.CopyTo(prefix);
        _pump = PumpAsync(prefix, unconsumed.Length);
    }

    public override string ConnectionId
    {
        get => _inner.ConnectionId;
        set => _inner.ConnectionId = value;
    }

    public override IFeatureCollection Features => _inner.Features;

    public override IDictionary<object, object?> Items
    {
        get => _inner.Items;
        set => _inner.Items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override EndPoint? LocalEndPoint
    {
        get => _inner.LocalEndPoint;
        set => _inner.LocalEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _inner.RemoteEndPoint;
        set => _inner.RemoteEndPoint = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _inner.ConnectionClosed;
        set => _inner.ConnectionClosed = value;
    }

    public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

    public override async ValueTask DisposeAsync()
    {
        // Kestrel is done with the connection: a pump still waiting on the socket stops.
        _inner.Transport.Input.CancelPendingRead();
        await _pump;
        await _inner.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task PumpAsync(byte[] prefix, int length)
    {
        var writer = _input.Writer;
        var input = _inner.Transport.Input;
        Exception? error = null;
        try
        {
            var flushed = await writer.WriteAsync(prefix.AsMemory(0, length));
            ArrayPool<byte>.Shared.Return(prefix);
            prefix = [];
            while (!flushed.IsCompleted)
            {
                var read = await input.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    writer.Write(segment.Span);
                }

                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    await writer.FlushAsync();
                    break;
                }

                flushed = await writer.FlushAsync();
            }
        }
        catch (Exception ex)
        {
            // The socket's error reaches Kestrel's reader as it would have without the pump.
            error = ex;
        }
        finally
        {
            if (prefix.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(prefix);
            }

            await writer.CompleteAsync(error);
            await input.CompleteAsync();
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

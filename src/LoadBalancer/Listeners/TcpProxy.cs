using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.AspNetCore.Connections;

namespace Berth.LoadBalancer.Listeners;

/// <summary>
/// NLB-style TCP listeners: Kestrel connection middleware on every endpoint that, for a TCP listener's port, connects
/// to a target of the listener's target group and copies bytes both ways (half-close passed on); no HTTP parsing.
/// Other ports fall through to HTTP. A target that refuses the connection is ejected and the next one is tried.
/// </summary>
internal sealed partial class TcpProxy(ConfigStore store, TargetHealthTable table, ILogger<TcpProxy> logger)
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<(string Group, string Target), StrongCounter> _open = new();
    private int _turn;

    /// <summary>Connections open now to a target (for draining reports).</summary>
    public int OpenConnections(string group, string target) => _open.TryGetValue((group, target), out var c) ? Volatile.Read(ref c.Value) : 0;

    public async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (connection.LocalEndPoint is not IPEndPoint local
            || store.Current is not { } model
            || !model.ListenersByPort.TryGetValue(local.Port, out var listener)
            || listener.Protocol != ListenerProtocol.Tcp)
        {
            await next(connection);
            return;
        }

        var group = model.TargetGroups[((ForwardAction)listener.DefaultAction).TargetGroups[0].TargetGroupArn];
        var (socket, target) = await ConnectAsync(group, connection.ConnectionClosed);
        if (socket is null || target is null)
        {
            LogNoTarget(logger, group.Name, local.Port);
            return;
        }

        LogConnected(logger, local.Port, target.Key);
        var counter = _open.GetOrAdd((group.Arn, target.Key), _ => new StrongCounter());
        Interlocked.Increment(ref counter.Value);
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            // Not ConnectionClosed: Kestrel fires it when the client half-closes, and the target's answer to that
            // half-close must still reach the client. Each direction ends by itself (EOF or error).
            await PumpAsync(connection.Transport, stream, socket, CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref counter.Value);
        }
    }

    private async Task<(Socket?, TargetModel?)> ConnectAsync(TargetGroupModel group, CancellationToken ct)
    {
        var tried = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var target = Pick(group, tried);
            if (target is null)
            {
                return (null, null);
            }

            tried.Add(target.Key);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(s_connectTimeout);
                await socket.ConnectAsync(target.Host, target.Port, timeout.Token);
                return (socket, target);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                if (ct.IsCancellationRequested)
                {
                    return (null, null);
                }

                table.Eject(group.Arn, target.Key, $"Connection to the target failed: {ex.Message}");
            }
        }
    }

    /// <summary>Round robin over healthy targets; every non-draining one when none is healthy (fail-open).</summary>
    private TargetModel? Pick(TargetGroupModel group, HashSet<string> tried)
    {
        var routable = new List<TargetModel>();
        var fallback = new List<TargetModel>();
        foreach (var target in group.Targets)
        {
            if (target.Draining || tried.Contains(target.Key) || table.Find(group.Arn, target.Key)?.Current is not { } health || health.State == TargetState.Draining)
            {
                continue;
            }

            fallback.Add(target);
            if (health.Routable)
            {
                routable.Add(target);
            }
        }

        var pool = routable.Count > 0 ? routable : fallback;
        return pool.Count == 0 ? null : pool[(int)((uint)Interlocked.Increment(ref _turn) % (uint)pool.Count)];
    }

    private static async Task PumpAsync(IDuplexPipe client, NetworkStream target, Socket socket, CancellationToken ct)
    {
        async Task UpAsync()
        {
            await client.Input.CopyToAsync(target, ct);
            // The client finished sending: pass the half-close on.
            socket.Shutdown(SocketShutdown.Send);
        }

        async Task DownAsync()
        {
            await target.CopyToAsync(client.Output, ct);
            await client.Output.CompleteAsync();
        }

        var up = UpAsync();
        var down = DownAsync();
        try
        {
            // A failure of either direction (a reset) ends both: closing the target socket ends the download.
            await await Task.WhenAny(up, down);
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            socket.Dispose();
            await client.Output.CompleteAsync(ex);
            try
            {
                await Task.WhenAll(up, down);
            }
            catch (Exception)
            {
                // Both directions are over; their errors were the expected ends of a broken connection.
            }
        }
    }

    private sealed class StrongCounter
    {
        public int Value;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "TCP listener {Port}: connection proxied to {Target}")]
    private static partial void LogConnected(ILogger logger, int port, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TCP listener {Port}: no target of {TargetGroup} accepted a connection")]
    private static partial void LogNoTarget(ILogger logger, string targetGroup, int port);
}

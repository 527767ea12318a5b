namespace Berth.Core.Networking;

/// <summary>
/// The HTTP handler for a long-lived gRPC stream to the scheduler (an agent's session, a balancer's watch).
/// Such a stream can sit idle for minutes, so HTTP/2 pings are what notice a scheduler that vanished without closing
/// the connection (host down, cable out); without them the stream waits for TCP's retransmission timeout.
/// </summary>
public static class ControlPlaneHttpHandler
{
    /// <summary>How long a connection may be quiet before a ping asks whether the scheduler is still there.</summary>
    public static readonly TimeSpan PingDelay = TimeSpan.FromSeconds(15);

    /// <summary>How long an unanswered ping takes to end the connection.</summary>
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a connection attempt to an unreachable scheduler may take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A new handler; the gRPC channel that receives it owns and disposes it.</summary>
    public static SocketsHttpHandler Create() => new()
    {
        KeepAlivePingDelay = PingDelay,
        KeepAlivePingTimeout = PingTimeout,
        // Always, not only with active requests: the stream is the active request, but it may carry nothing for long.
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        ConnectTimeout = ConnectTimeout,
    };
}

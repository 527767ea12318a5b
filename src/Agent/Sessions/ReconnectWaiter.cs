using System.Net.Sockets;

namespace Berth.Agent.Sessions;

/// <summary>
/// Waits out a reconnect backoff step, but comes back early when the scheduler's port goes from closed to open: that
/// is a scheduler that restarted, and it should see its agents again within seconds (issue 5: within 5 s), not after a
/// backoff step that grew to two minutes during the outage.
/// </summary>
/// <remarks>
/// The probe is one TCP connect (SYN, then SYN-ACK or RST; the connection is closed at once) every
/// <see cref="ProbeInterval"/>: against a dead scheduler the host's kernel answers it, so a thousand agents probing cost
/// it a thousand RSTs a second, not a thousand TLS handshakes and session setups, which is what a short backoff would
/// cost. Only a transition counts: when the port is open at the first probe (the scheduler answers TCP but refused
/// the session, or a load balancer holds the port), probing stops and the full backoff applies, so an overloaded
/// scheduler is neither probed nor hammered. A random pause of up to <see cref="Spread"/> after the port opens keeps the agents of a cluster from
/// arriving in the same millisecond.
/// </remarks>
internal sealed class ReconnectWaiter(Func<CancellationToken, Task<bool>> probe, TimeProvider time, Random random)
{
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Spread = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A waiter that probes the host and port of <paramref name="schedulerUrl"/>.</summary>
    public static ReconnectWaiter For(Uri schedulerUrl, TimeProvider time, Random random) =>
        new(ct => TcpProbeAsync(schedulerUrl.Host, schedulerUrl.Port, ct), time, random);

    /// <summary>Waits <paramref name="delay"/>; returns true when it came back early because the port opened.</summary>
    public async Task<bool> WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        var until = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
        if (delay <= ProbeInterval + Spread)
        {
            await Task.Delay(delay, time, cancellationToken);
            return false;
        }

        var closedSeen = false;
        while (true)
        {
            var left = TimeSpan.FromSeconds((until - time.GetTimestamp()) / (double)time.TimestampFrequency);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            var open = await probe(cancellationToken);
            if (open && closedSeen)
            {
                await Task.Delay(random.NextDouble() * Spread, time, cancellationToken);
                return true;
            }

            if (open)
            {
                // Open from the start: the scheduler is up and refused the session. Probing on would only load it.
                left = TimeSpan.FromSeconds((until - time.GetTimestamp()) / (double)time.TimestampFrequency);
                await Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.Zero, time, cancellationToken);
                return false;
            }

            closedSeen = true;
            await Task.Delay(left < ProbeInterval ? left : ProbeInterval, time, cancellationToken);
        }
    }

    /// <summary>True when a TCP connection to the port is accepted within <see cref="ProbeTimeout"/>.</summary>
    internal static async Task<bool> TcpProbeAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}

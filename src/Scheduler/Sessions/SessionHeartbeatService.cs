using Berth.Scheduler.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Sessions;

/// <summary>Sends heartbeats on every session and closes sessions whose agent went silent.</summary>
internal sealed partial class SessionHeartbeatService(SessionHub hub, TimeProvider time, IOptions<SchedulerOptions> options, ILogger<SessionHeartbeatService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.HeartbeatInterval;
        var maxSilence = options.Value.SessionTimeout;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var closed = hub.Tick(maxSilence);
                if (closed > 0)
                {
                    Log.ClosedSilentSessions(logger, closed, maxSilence.TotalSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Closed {Count} agent sessions silent for more than {Seconds} s")]
        public static partial void ClosedSilentSessions(ILogger logger, int count, double seconds);
    }
}

using Berth.Scheduler.Hosting;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.LostHosts;

/// <summary>
/// Declares instances lost when their agents stay silent for longer than <see cref="SchedulerOptions.LostHostGracePeriod"/>
/// (see <see cref="LostHostHandler.DeclareLostAsync"/>). It looks a tenth of the grace period apart (at most every
/// second), so a lost host's tasks are UNKNOWN within the grace period plus a second.
/// </summary>
internal sealed class LostHostMonitor(LostHostHandler lostHosts, Kernel.StateKernel kernel, TimeProvider time, IOptions<SchedulerOptions> options) : BackgroundService
{
    private long _passes;

    /// <summary>Completed passes, so that tests can tell a pass ran after they moved the clock.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var grace = options.Value.LostHostGracePeriod;
        var sessionTimeout = options.Value.SessionTimeout;
        var period = TimeSpan.FromTicks(Math.Clamp(grace.Ticks / 10, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        // Made before the first await, so the timer exists once the host has started (a test's fake clock moves it).
        using var timer = new PeriodicTimer(period, time);
        try
        {
            await kernel.WhenLoaded.WaitAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await lostHosts.DeclareLostAsync(grace, sessionTimeout);
                Interlocked.Increment(ref _passes);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

using Berth.Scheduler.Hosting;
using Berth.Scheduler.Kernel;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.LoadBalancing;

/// <summary>
/// Ends draining: every <c>Scheduler:DrainCheckInterval</c>, and at once when a balancer reports in-flight counts, it
/// removes draining targets whose deregistration delay ended or on which nothing is in flight at any replica, and
/// stops the tasks that waited for them (<see cref="TargetRegistry.FinishDrains"/>), one commit per cluster.
/// </summary>
internal sealed partial class TargetDrainer(StateKernel kernel, TimeProvider time, IOptions<SchedulerOptions> options, ILogger<TargetDrainer> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await kernel.WhenLoaded.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(options.Value.DrainCheckInterval, time);
            Task<bool>? tick = null;
            while (!stoppingToken.IsCancellationRequested)
            {
                await PassAsync();
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                var woken = await Task.WhenAny(tick, _wake.WaitAsync(stoppingToken));
                if (woken == tick)
                {
                    await tick;
                    tick = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One look at every cluster with draining targets; returns how many targets were removed.</summary>
    public async Task<int> PassAsync()
    {
        var removed = 0;
        foreach (var cluster in kernel.ClusterNames.ToList())
        {
            if (!kernel.ReadCluster(cluster, state => state?.LoadBalancing.AnyDraining ?? false))
            {
                continue;
            }

            try
            {
                removed += await kernel.CommitAsync(cluster, tx => TargetRegistry.FinishDrains(tx, logger, TimeSpan.Zero));
            }
            catch (StateException e)
            {
                Log.DrainFailed(logger, cluster, e.Message);
            }
        }

        return removed;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Draining targets of cluster {Cluster} could not be finished: {Reason}")]
        public static partial void DrainFailed(ILogger logger, string cluster, string reason);
    }
}

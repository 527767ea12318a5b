using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Retention;

/// <summary>
/// Bounded state: STOPPED tasks, INACTIVE services and INACTIVE container instances leave memory
/// <see cref="RetentionOptions.Visibility"/> after they ended and their rows leave the database
/// <see cref="RetentionOptions.RowRetention"/> after; service events older than the row retention go too (deployments
/// are bounded by each pass). Work is done in small batches, each a short hold of one cluster's lock or a delete that
/// rides on the next group commit (sized to that commit's writes, so deletes keep pace with a busy writer on a slow
/// disk), so no commit stalls behind it.
/// </summary>
internal sealed partial class RetentionService(
    StateKernel kernel, IStateStore store, ServiceHandler services, TimeProvider time, IOptions<RetentionOptions> options, ILogger<RetentionService> logger) : BackgroundService
{
    private long _passes;

    /// <summary>Completed passes, so that tests can tell a pass ran after they moved the clock.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        // Made before the first await, so the timer exists once the host has started (a test's fake clock moves it).
        using var timer = new PeriodicTimer(settings.Interval, time);
        try
        {
            await kernel.WhenLoaded.WaitAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(stoppingToken);
                Interlocked.Increment(ref _passes);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One pass: out of memory, then out of the database.</summary>
    public async Task<(int Evicted, int Deleted)> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var evicted = 0;
        int batch;
        do
        {
            batch = kernel.EvictEnded(now - settings.Visibility, settings.BatchSize);
            evicted += batch;
            // Let waiting commits have the locks between batches.
            await Task.Yield();
        }
        while (batch > 0 && !cancellationToken.IsCancellationRequested);

        await services.TrimEventsAsync(now - settings.RowRetention);
        var deleted = 0;
        do
        {
            batch = await store.DeleteEndedAsync(now - settings.RowRetention, settings.BatchSize, cancellationToken);
            deleted += batch;
        }
        while (batch >= settings.BatchSize && !cancellationToken.IsCancellationRequested);

        if (evicted + deleted > 0)
        {
            Log.Retained(logger, evicted, deleted);
        }

        return (evicted, deleted);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Retention: {Evicted} ended records left memory, {Deleted} rows left the database")]
        public static partial void Retained(ILogger logger, int evicted, int deleted);
    }
}

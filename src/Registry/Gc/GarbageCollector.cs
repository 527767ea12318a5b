using Berth.Registry.Http;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Gc;

/// <summary>What a collection deleted, or with a dry run would delete.</summary>
internal sealed record GcReport(GcRun Run, IReadOnlyList<CollectedManifest> Manifests, IReadOnlyList<CollectedBlob> Blobs);

/// <summary>
/// Online garbage collection on GitLab's model: no mark-and-sweep and no read-only window. Triggers queue what a change
/// may have left unreferenced (in the change's own transaction); this collector stamps new queue entries with its
/// clock, and deletes in small batches what has been in the queue for the review delay and is, re-checked inside the
/// delete's transaction and under the registry's write lock, still unreferenced. Pushes and pulls go on between
/// batches. Manifests first (their deletes queue their blobs), then blobs, whose bytes are deleted under the same
/// lock. Each step is paced (<see cref="GcPacer"/>): flat out on an idle registry, a bounded share of the time while
/// requests arrive. docs/registry.md, "Garbage collection", walks through the races.
/// </summary>
internal sealed partial class GarbageCollector(
    RegistryStore store,
    IGcMetadata metadata,
    IBlobStore blobs,
    RequestTraffic traffic,
    TimeProvider time,
    IOptions<GcOptions> options,
    ILogger<GarbageCollector> logger) : BackgroundService
{
    // Each stamp is one transaction of this many queue entries: short enough to pace, long enough that a million
    // entries are few statements.
    private const int StampSlice = 20_000;

    private readonly SemaphoreSlim _oneRun = new(1, 1);

    public override void Dispose()
    {
        _oneRun.Dispose();
        base.Dispose();
    }

    /// <summary>One collection now; with <paramref name="dryRun"/> only what it would delete (after stamping the queues).</summary>
    public async Task<GcReport> RunAsync(bool dryRun, CancellationToken cancellationToken)
    {
        await _oneRun.WaitAsync(cancellationToken);
        try
        {
            await using var settings = await metadata.BeginRunAsync(options.Value.CacheBytes, options.Value.MapBytes, options.Value.CheckpointPages, cancellationToken);
            var started = time.GetUtcNow().UtcDateTime;
            var pacer = new GcPacer(traffic, time, options.Value.BusyShare);
            var phase = Phase.Start(time, pacer);
            var stamped = await StampAsync(started, pacer, cancellationToken);
            Log(phase, pacer, "stamp", stamped, 0);
            var cutoff = started - options.Value.ReviewDelay;
            if (dryRun)
            {
                var (wouldManifests, wouldBlobs) = await metadata.PreviewAsync(cutoff, cancellationToken);
                var preview = new GcRun(started, time.GetUtcNow().UtcDateTime, true, wouldManifests.Count, wouldBlobs.Count, wouldBlobs.Sum(b => b.Size), null);
                await metadata.RecordRunAsync(preview, cancellationToken);
                return new GcReport(preview, wouldManifests, wouldBlobs);
            }

            var manifests = new List<CollectedManifest>();
            var collected = new List<CollectedBlob>();
            string? error = null;
            try
            {
                await CollectManifestsAsync(cutoff, pacer, manifests, cancellationToken);

                // The manifests just deleted queued their blobs: their review delay starts now, as it would have
                // with the time of the event. The cutoff moves with the stamp, or with a delay of 0 those blobs
                // (stamped after the run's start) would wait for the next run.
                var restamped = time.GetUtcNow().UtcDateTime;
                phase = Phase.Start(time, pacer);
                stamped = await StampAsync(restamped, pacer, cancellationToken);
                Log(phase, pacer, "stamp", stamped, 0);
                await CollectBlobsAsync(restamped - options.Value.ReviewDelay, pacer, collected, cancellationToken);
            }
            catch (Exception exception) when (exception is IOException or Microsoft.Data.Sqlite.SqliteException)
            {
                // Recorded with the run; what was deleted stays deleted and the rest waits for the next run.
                error = exception.Message;
                LogRunFailed(logger, exception);
            }

            var run = new GcRun(started, time.GetUtcNow().UtcDateTime, false, manifests.Count, collected.Count, collected.Sum(b => b.Size), error);
            await metadata.RecordRunAsync(run, CancellationToken.None);
            LogRun(logger, run.ManifestsDeleted, run.BlobsDeleted, run.BytesDeleted);
            return new GcReport(run, manifests, collected);
        }
        finally
        {
            _oneRun.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunAsync(dryRun: false, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping between or inside a batch: every batch is its own transaction.
        }
    }

    private async Task<long> StampAsync(DateTime now, GcPacer pacer, CancellationToken cancellationToken)
    {
        var total = 0L;
        while (true)
        {
            var started = pacer.Start();
            var stamped = await metadata.StampAsync(now, StampSlice, cancellationToken);
            total += stamped;
            if (stamped < StampSlice)
            {
                return total;
            }

            await pacer.YieldAsync(started, cancellationToken);
        }
    }

    private async Task CollectManifestsAsync(DateTime cutoff, GcPacer pacer, List<CollectedManifest> deleted, CancellationToken cancellationToken)
    {
        var batchSize = options.Value.BatchSize;
        var phase = Phase.Start(time, pacer);
        var (reviewedTotal, deletedBefore) = (0L, deleted.Count);
        while (true)
        {
            // One batch under the write lock: the re-check and the delete see the same state as any push. Its time
            // for the pacer starts once the lock is held: waiting for a push is not the collector's work.
            var started = 0L;
            var reviewed = await store.ExclusiveAsync(
                async () =>
                {
                    started = pacer.Start();
                    var (batch, count) = await metadata.CollectManifestsAsync(cutoff, batchSize, CancellationToken.None);
                    foreach (var manifest in batch)
                    {
                        store.ForgetManifest((int)manifest.RepositoryId, manifest.Digest);
                    }

                    deleted.AddRange(batch);
                    return count;
                },
                cancellationToken);
            reviewedTotal += reviewed;
            if (reviewed < batchSize)
            {
                Log(phase, pacer, "manifests", reviewedTotal, deleted.Count - deletedBefore);
                return;
            }

            // Outside the lock: pushes go on while the collector pauses.
            await pacer.YieldAsync(started, cancellationToken);
        }
    }

    private async Task CollectBlobsAsync(DateTime cutoff, GcPacer pacer, List<CollectedBlob> deleted, CancellationToken cancellationToken)
    {
        var batchSize = options.Value.BatchSize;
        var phase = Phase.Start(time, pacer);
        var (reviewedTotal, deletedBefore) = (0L, deleted.Count);
        while (true)
        {
            var started = 0L;
            var reviewed = await store.ExclusiveAsync(
                async () =>
                {
                    started = pacer.Start();
                    var (batch, count) = await metadata.CollectBlobsAsync(cutoff, batchSize, CancellationToken.None);
                    foreach (var blob in batch)
                    {
                        store.ForgetBlob(blob.Digest);

                        // Under the write lock: a push that committed the same bytes meanwhile cannot link them
                        // until this returns, and then finds them gone (RegistryStore.LinkBlobAsync checks).
                        await blobs.DeleteBlobAsync(blob.Digest, CancellationToken.None);
                    }

                    deleted.AddRange(batch);
                    return count;
                },
                cancellationToken);
            reviewedTotal += reviewed;
            if (reviewed < batchSize)
            {
                Log(phase, pacer, "blobs", reviewedTotal, deleted.Count - deletedBefore);
                return;
            }

            await pacer.YieldAsync(started, cancellationToken);
        }
    }

    private void Log(Phase phase, GcPacer pacer, string name, long reviewed, long deleted)
    {
        if (reviewed == 0 || !logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var elapsed = time.GetElapsedTime(phase.Started);
        var cpu = Environment.CpuUsage.TotalTime - phase.Cpu;
        LogPhase(logger, name, reviewed, deleted, elapsed.TotalMilliseconds, (pacer.Paused - phase.Paused).TotalMilliseconds, cpu.TotalMilliseconds);
    }

    // A phase's wall time on the collector's clock, the part of it paused for requests, and the process's CPU time over
    // it (the process's, not the collector's alone: on an otherwise idle registry the two are the same), for the log.
    private readonly record struct Phase(long Started, TimeSpan Paused, TimeSpan Cpu)
    {
        public static Phase Start(TimeProvider time, GcPacer pacer) => new(time.GetTimestamp(), pacer.Paused, Environment.CpuUsage.TotalTime);
    }
}

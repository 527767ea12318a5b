using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Images;

/// <summary>
/// Last pull times without a database write per pull: a manifest GET notes (repository, digest) -> time in memory
/// (no allocation when the manifest was pulled since the last flush), and a background loop writes what was noted
/// in one transaction every <see cref="Repositories.RepositoryOptions.LastPullFlushInterval"/>, as soon as
/// <see cref="Repositories.RepositoryOptions.LastPullMaxPending"/> distinct manifests wait (memory stays bounded at
/// any request rate), and once more at shutdown. A crash loses at most one batch of pull times, which only ever makes
/// an image look less recently pulled.
/// </summary>
internal sealed partial class PullRecorder(IImageMetadata metadata, TimeProvider time, IOptions<Repositories.RepositoryOptions> options, ILogger<PullRecorder> logger)
    : BackgroundService
{
    private readonly int _maxPending = options.Value.LastPullMaxPending;
    private Batch _pending = new();

    public void Record(long repository, string digest)
    {
        var now = time.GetUtcNow().UtcTicks;
        var batch = Volatile.Read(ref _pending);
        var key = (repository, digest);
        if (!batch.Pulls.TryGetValue(key, out var stamp))
        {
            var fresh = new Stamp();
            stamp = batch.Pulls.GetOrAdd(key, fresh);
            if (ReferenceEquals(stamp, fresh) && Interlocked.Increment(ref batch.Count) == _maxPending)
            {
                batch.Full.TrySetResult();
            }
        }

        Volatile.Write(ref stamp.Ticks, now);
    }

    /// <summary>Writes what was noted since the last flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new Batch());
        if (batch.Pulls.IsEmpty)
        {
            return;
        }

        var pulls = batch.Pulls.Select(p => new PullRecord(p.Key.Item1, p.Key.Item2, new DateTime(Volatile.Read(ref p.Value.Ticks), DateTimeKind.Utc))).ToList();
        await metadata.RecordPullsAsync(pulls, cancellationToken);
        LogFlushed(logger, pulls.Count);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Whichever comes first: the interval, or the batch filling up.
            using (var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                var tick = Task.Delay(options.Value.LastPullFlushInterval, time, interval.Token);
                await Task.WhenAny(tick, Volatile.Read(ref _pending).Full.Task);
                await interval.CancelAsync();
            }

            if (stoppingToken.IsCancellationRequested)
            {
                // Stopping: StopAsync flushes what is left.
                return;
            }

            await TryFlushAsync(stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await TryFlushAsync(CancellationToken.None);
    }

    // Pull times are best effort: a full disk or a database going away at shutdown loses a batch of them (an image
    // looks less recently pulled), never a request and never the host.
    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogFlushFailed(logger, exception);
        }
    }

    private sealed class Stamp
    {
        public long Ticks;
    }

    /// <summary>The pulls noted since the last flush, how many distinct manifests they name, and whether that reached the cap.</summary>
    private sealed class Batch
    {
        public readonly ConcurrentDictionary<(long, string), Stamp> Pulls = new();
        public readonly TaskCompletionSource Full = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Count;
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Images;

/// <summary>
/// Last pull times without a database write per pull: a manifest GET notes (repository, digest) -> time in memory
/// (no allocation when the manifest was pulled since the last flush), and a background loop writes what was noted
/// in one transaction every <see cref="Repositories.RepositoryOptions.LastPullFlushInterval"/>, and once more at shutdown. A crash
/// loses at most one interval of pull times, which only ever makes an image look less recently pulled.
/// </summary>
internal sealed partial class PullRecorder(IImageMetadata metadata, TimeProvider time, IOptions<Repositories.RepositoryOptions> options, ILogger<PullRecorder> logger)
    : BackgroundService
{
    private ConcurrentDictionary<(long, string), Stamp> _pending = new();

    public void Record(long repository, string digest)
    {
        var now = time.GetUtcNow().UtcTicks;
        var stamp = _pending.GetOrAdd((repository, digest), static _ => new Stamp());
        Volatile.Write(ref stamp.Ticks, now);
    }

    /// <summary>Writes what was noted since the last flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<(long, string), Stamp>());
        if (batch.IsEmpty)
        {
            return;
        }

        var pulls = batch.Select(p => new PullRecord(p.Key.Item1, p.Key.Item2, new DateTime(Volatile.Read(ref p.Value.Ticks), DateTimeKind.Utc))).ToList();
        await metadata.RecordPullsAsync(pulls, cancellationToken);
        LogFlushed(logger, pulls.Count);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LastPullFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await TryFlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync flushes what is left.
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
}

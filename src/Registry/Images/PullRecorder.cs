using System.Collections.Concurrent;
using Berth.Registry.Batching;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Images;

/// <summary>
/// Last pull times without a database write per pull: a manifest GET notes (repository, digest) -> time in memory
/// (no allocation when the manifest was pulled since the last write), and a <see cref="BatchWorker"/> writes what was
/// noted in one transaction every <see cref="Repositories.RepositoryOptions.LastPullFlushInterval"/>, as soon as
/// <see cref="Repositories.RepositoryOptions.LastPullMaxPending"/> distinct manifests wait, and once more at shutdown.
/// If writes stall (a stuck disk) and twice that many wait, further manifests' pulls are not noted (counted and logged)
/// rather than holding memory without bound. A crash loses at most one batch of pull times, which only ever makes an
/// image look less recently pulled.
/// </summary>
internal sealed class PullRecorder : BackgroundService
{
    private readonly IImageMetadata _metadata;
    private readonly TimeProvider _time;
    private readonly BatchWorker _worker;
    private readonly ConcurrentDictionary<(long, string), Stamp> _pulls = new();

    public PullRecorder(IImageMetadata metadata, TimeProvider time, IOptions<Repositories.RepositoryOptions> options, ILogger<PullRecorder> logger)
    {
        _metadata = metadata;
        _time = time;
        var max = options.Value.LastPullMaxPending;
        _worker = new BatchWorker(
            new BatchWorkerSettings("last pull times", options.Value.LastPullFlushInterval, max, (int)Math.Min(int.MaxValue, 2L * max), "Registry:Repositories:LastPullMaxPending"),
            WriteAsync,
            time,
            logger);
    }

    public void Record(long repository, string digest)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var key = (repository, digest);
        if (!_pulls.TryGetValue(key, out var stamp))
        {
            if (!_worker.TryAdmit())
            {
                return;
            }

            // Stamped before it is visible: a write that runs now must not read a time of zero.
            var fresh = new Stamp { Ticks = now };
            stamp = _pulls.GetOrAdd(key, fresh);
            if (!ReferenceEquals(stamp, fresh))
            {
                // Another GET of the same manifest added it first: one waiting entry, not two.
                _worker.Taken(1);
            }
        }

        Volatile.Write(ref stamp.Ticks, now);
    }

    /// <summary>Writes what was noted since the last write.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => _worker.FlushAsync(cancellationToken);

    private async Task<int> WriteAsync(CancellationToken cancellationToken)
    {
        var pulls = new List<PullRecord>();
        foreach (var entry in _pulls)
        {
            pulls.Add(new PullRecord(entry.Key.Item1, entry.Key.Item2, new DateTime(Volatile.Read(ref entry.Value.Ticks), DateTimeKind.Utc)));
            // A GET that found this entry just before it went may stamp it after it was read: that pull's time (a
            // moment later than the one written) is lost, which only makes the image look pulled a moment earlier.
            if (_pulls.TryRemove(entry))
            {
                _worker.Taken(1);
            }
        }

        if (pulls.Count > 0)
        {
            await _metadata.RecordPullsAsync(pulls, cancellationToken);
        }

        return pulls.Count;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _worker.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _worker.FlushRemainingAsync();
    }

    public override void Dispose()
    {
        _worker.Dispose();
        base.Dispose();
    }

    private sealed class Stamp
    {
        public long Ticks;
    }
}

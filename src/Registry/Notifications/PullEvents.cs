using System.Collections.Concurrent;
using Berth.Registry.Outbox;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// Pull events for the endpoints whose <c>Actions</c> include <c>pull</c>, without a database write per pull: a
/// manifest GET or blob GET notes the event in memory (its time, target and request, fixed then), and a background
/// loop writes what was noted into the outbox in one transaction every
/// <see cref="NotificationOptions.PullFlushInterval"/>, as soon as half of <see cref="NotificationOptions.MaxPendingPulls"/>
/// wait, and once more at shutdown; the senders then deliver them like any other event. A pull changes nothing, so no
/// commit acknowledges it: a crash loses the pulls noted since the last flush (at most one interval's worth), and when
/// the writer falls behind by <see cref="NotificationOptions.MaxPendingPulls"/> events, further pulls are not recorded
/// (counted and logged) rather than holding memory or requests. With no endpoint that wants pulls, noting is one branch.
/// </summary>
internal sealed partial class PullEvents : BackgroundService
{
    /// <summary>What a blob pull names as its target's media type, as distribution does: the registry does not know it.</summary>
    public const string BlobMediaType = "application/octet-stream";

    private readonly ChangeOutbox _outbox;
    private readonly OutboxJournal _journal;
    private readonly ChangeSignal _signal;
    private readonly TimeProvider _time;
    private readonly ILogger<PullEvents> _logger;
    private readonly TimeSpan _interval;
    private readonly int _max;
    private readonly int _flushAt;
    private readonly ConcurrentQueue<PendingPull> _queue = new();
    private int _pending;
    private long _dropped;
    private TaskCompletionSource _full = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PullEvents(ChangeOutbox outbox, OutboxJournal journal, ChangeSignal signal, IOptions<NotificationOptions> options, TimeProvider time, ILogger<PullEvents> logger)
    {
        _outbox = outbox;
        _journal = journal;
        _signal = signal;
        _time = time;
        _logger = logger;
        _interval = options.Value.PullFlushInterval;
        _max = options.Value.MaxPendingPulls;
        _flushAt = Math.Max(1, _max / 2);
        Enabled = options.Value.Endpoints.Any(e => e.EffectiveActions.Contains("pull", StringComparer.Ordinal));
    }

    /// <summary>Whether some endpoint receives pulls: callers test it before gathering what an event needs.</summary>
    public bool Enabled { get; }

    /// <summary>Pull events noted and not yet written.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>A manifest GET that served the body; <paramref name="tag"/> when it was asked for by tag.</summary>
    public void Manifest(HttpContext context, string repository, string digest, string mediaType, long size, string? tag)
    {
        if (Enabled)
        {
            Add(new PendingPull(new RegistryChange(ChangeAction.Pull, repository, digest, mediaType, size, tag), "manifests", RequestFacts.Capture(context), _time.GetUtcNow()));
        }
    }

    /// <summary>A blob GET (whole or a range: distribution sends one event per GET too).</summary>
    public void Blob(HttpContext context, string repository, string digest, long size)
    {
        if (Enabled)
        {
            Add(new PendingPull(new RegistryChange(ChangeAction.Pull, repository, digest, BlobMediaType, size, null), "blobs", RequestFacts.Capture(context), _time.GetUtcNow()));
        }
    }

    private void Add(PendingPull pull)
    {
        var pending = Interlocked.Increment(ref _pending);
        if (pending > _max)
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _dropped);
            return;
        }

        _queue.Enqueue(pull);
        if (pending == _flushAt)
        {
            Volatile.Read(ref _full).TrySetResult();
        }
    }

    /// <summary>Writes the pulls noted so far into the outbox, in one transaction, and wakes the senders.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // A fresh trigger before the drain: a batch that fills up while this one is written wakes the next flush.
        Interlocked.Exchange(ref _full, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var payloads = new List<string>();
        while (_queue.TryDequeue(out var pull))
        {
            Interlocked.Decrement(ref _pending);
            payloads.Add(_journal.Serialize(pull.Change, pull.Kind, pull.Request, pull.At));
        }

        var dropped = Interlocked.Exchange(ref _dropped, 0);
        if (dropped > 0)
        {
            LogDropped(_logger, dropped, _max);
        }

        if (payloads.Count == 0)
        {
            return;
        }

        await _outbox.AppendAsync("pull", payloads, cancellationToken);
        _signal.Wake();
        LogFlushed(_logger, payloads.Count);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            // Whichever comes first: the interval, or half the cap waiting.
            using (var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                var tick = Task.Delay(_interval, _time, interval.Token);
                await Task.WhenAny(tick, Volatile.Read(ref _full).Task);
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
        if (Enabled)
        {
            await TryFlushAsync(CancellationToken.None);
        }
    }

    // Pull events are best effort (no commit acknowledged them): a database that fails a write loses that batch, never a
    // request and never the host.
    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogFlushFailed(_logger, exception);
        }
    }

    private sealed record PendingPull(RegistryChange Change, string Kind, RequestFacts Request, DateTimeOffset At);
}

using System.Collections.Concurrent;
using Berth.Registry.Batching;
using Berth.Registry.Outbox;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// Pull events for the endpoints whose <c>Actions</c> include <c>pull</c>, without a database write per pull: a
/// manifest GET or blob GET notes the event in memory (its time, target and request, fixed then), and a
/// <see cref="BatchWorker"/> writes what was noted into the outbox in one transaction every
/// <see cref="NotificationOptions.PullFlushInterval"/>, as soon as half of <see cref="NotificationOptions.MaxPendingPulls"/>
/// wait, and once more at shutdown; the senders then deliver them like any other event. A pull changes nothing, so no
/// commit acknowledges it: a crash loses the pulls noted since the last flush (at most one interval's worth), and when
/// the writer falls behind by <see cref="NotificationOptions.MaxPendingPulls"/> events, further pulls are not recorded
/// (counted and logged) rather than holding memory or requests. With no endpoint that wants pulls, noting is one branch.
/// </summary>
internal sealed class PullEvents : BackgroundService
{
    /// <summary>What a blob pull names as its target's media type, as distribution does: the registry does not know it.</summary>
    public const string BlobMediaType = "application/octet-stream";

    private readonly ChangeOutbox _outbox;
    private readonly OutboxJournal _journal;
    private readonly ChangeSignal _signal;
    private readonly TimeProvider _time;
    private readonly BatchWorker _worker;
    private readonly ConcurrentQueue<PendingPull> _queue = new();
    // Made at the first write: a registry whose endpoints want no pulls never holds the buffer.
    private OutboxPayloads? _payloads;

    public PullEvents(ChangeOutbox outbox, OutboxJournal journal, ChangeSignal signal, IOptions<NotificationOptions> options, TimeProvider time, ILogger<PullEvents> logger)
    {
        _outbox = outbox;
        _journal = journal;
        _signal = signal;
        _time = time;
        var max = options.Value.MaxPendingPulls;
        _worker = new BatchWorker(
            new BatchWorkerSettings("pull events", options.Value.PullFlushInterval, Math.Max(1, max / 2), max, "Registry:Notifications:MaxPendingPulls"),
            WriteAsync,
            time,
            logger);
        Enabled = options.Value.Endpoints.Any(e => e.EffectiveActions.Contains("pull", StringComparer.Ordinal));
    }

    /// <summary>Whether some endpoint receives pulls: callers test it before gathering what an event needs.</summary>
    public bool Enabled { get; }

    /// <summary>Pull events noted and not yet written.</summary>
    public int Pending => _worker.Pending;

    /// <summary>A manifest GET that served the body; <paramref name="tag"/> when it was asked for by tag.</summary>
    public void Manifest(HttpContext context, string repository, string digest, string mediaType, long size, string? tag)
    {
        if (Enabled && _worker.TryAdmit())
        {
            _queue.Enqueue(new PendingPull(new RegistryChange(ChangeAction.Pull, repository, digest, mediaType, size, tag), "manifests", RequestFacts.Capture(context), _time.GetUtcNow()));
        }
    }

    /// <summary>A blob GET (whole or a range: distribution sends one event per GET too).</summary>
    public void Blob(HttpContext context, string repository, string digest, long size)
    {
        if (Enabled && _worker.TryAdmit())
        {
            _queue.Enqueue(new PendingPull(new RegistryChange(ChangeAction.Pull, repository, digest, BlobMediaType, size, null), "blobs", RequestFacts.Capture(context), _time.GetUtcNow()));
        }
    }

    /// <summary>Writes the pulls noted so far into the outbox, in one transaction, and wakes the senders.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => _worker.FlushAsync(cancellationToken);

    // Each event is written once, as UTF-8, into a reused buffer, and each chunk of them goes into the outbox with one
    // statement (OutboxAppend), all in one transaction. BatchWorker runs one write at a time, so the buffer has one user.
    private async Task<int> WriteAsync(CancellationToken cancellationToken)
    {
        if (_queue.IsEmpty)
        {
            return 0;
        }

        var payloads = _payloads ??= new OutboxPayloads();
        payloads.Clear();
        await using var append = await _outbox.BeginAppendAsync("pull", cancellationToken);
        while (_queue.TryDequeue(out var pull))
        {
            _worker.Taken(1);
            _journal.Write(payloads.Writer, pull.Change, pull.Kind, pull.Request, pull.At);
            payloads.EndEvent();
            if (payloads.IsFull)
            {
                await append.InsertAsync(payloads, cancellationToken);
            }
        }

        await append.InsertAsync(payloads, cancellationToken);
        append.Commit();
        _signal.Wake();
        return append.Inserted;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Enabled ? _worker.RunAsync(stoppingToken) : Task.CompletedTask;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Enabled)
        {
            await _worker.FlushRemainingAsync();
        }
    }

    public override void Dispose()
    {
        _worker.Dispose();
        _payloads?.Dispose();
        base.Dispose();
    }

    private sealed record PendingPull(RegistryChange Change, string Kind, RequestFacts Request, DateTimeOffset At);
}

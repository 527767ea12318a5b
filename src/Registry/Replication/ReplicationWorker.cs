using System.Text.Json;
using System.Threading.Channels;
using Berth.Registry.Notifications;
using Berth.Registry.Outbox;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Replication;

/// <summary>Replication's place in the change outbox: one cursor.</summary>
internal sealed class ReplicationOutboxConsumer : IOutboxConsumer
{
    public const string CursorName = "replication:images";

    public IReadOnlyCollection<string> CursorNames { get; } = [CursorName];
}

/// <summary>
/// Copies pushed images to the destinations of the replication configuration. Two steps, both durable: pushes are
/// read from the change outbox (written in each push's transaction) and become one <c>ReplicationImages</c> row per
/// destination in the transaction that moves replication's cursor; due rows are then copied (<see cref="ImageCopier"/>)
/// and marked COMPLETE, or retried after a backoff that doubles per failed attempt up to its maximum (FAILED once
/// <see cref="ReplicationOptions.FailedAfterAttempts"/> have failed, still retried, so a destination that comes back
/// catches up). A push acknowledged before a crash is replicated after the restart: its outbox row committed with it.
/// </summary>
internal sealed partial class ReplicationWorker : BackgroundService
{
    private const int ReadBatch = 500;

    private readonly ChangeOutbox _outbox;
    private readonly ReplicationStore _store;
    private readonly ReplicationConfigurationHolder _configuration;
    private readonly ImageCopier _copier;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReplicationWorker> _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
    private long _cursor;

    public ReplicationWorker(
        ChangeOutbox outbox,
        ChangeSignal signal,
        ReplicationStore store,
        ReplicationConfigurationHolder configuration,
        ImageCopier copier,
        IOptions<ReplicationOptions> options,
        TimeProvider time,
        ILogger<ReplicationWorker> logger)
    {
        _outbox = outbox;
        _store = store;
        _configuration = configuration;
        _copier = copier;
        _options = options.Value;
        _time = time;
        _logger = logger;
        signal.Subscribe(Wake);
    }

    /// <summary>Wakes the worker (a commit with events, a new configuration).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>The cursor is read before the registry takes requests.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _cursor = (await _outbox.OpenAsync(cancellationToken))[ReplicationOutboxConsumer.CursorName];
        await base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Drained before the reads: a commit after this point wakes the wait below again.
                _wake.Reader.TryRead(out _);
                if (await RecordPushesAsync(stoppingToken))
                {
                    continue;
                }

                var due = await _store.DueAsync(_time.GetUtcNow(), _options.Concurrency * 4, stoppingToken);
                if (due.Count > 0)
                {
                    await Parallel.ForEachAsync(
                        due,
                        new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency, CancellationToken = stoppingToken },
                        async (job, ct) => await AttemptAsync(job, ct));
                    continue;
                }

                await WaitAsync(await _store.NextDueAsync(stoppingToken), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // Turns the outbox's pushes after the cursor into status rows; true when it read any event (there may be more).
    private async Task<bool> RecordPushesAsync(CancellationToken stoppingToken)
    {
        var batch = await _outbox.ReadAsync(_cursor, ReadBatch, stoppingToken);
        if (batch.Count == 0)
        {
            return false;
        }

        // The configuration in force now decides (ECR evaluates its rules when it replicates, too).
        var rules = _configuration.Current;
        var requests = new List<ReplicationRequest>();
        foreach (var queued in batch)
        {
            if (queued.Action != "push"
                || JsonSerializer.Deserialize(queued.Payload, NotificationJsonContext.Default.NotificationEvent) is not { Target.Digest: { } digest } change)
            {
                continue;
            }

            var targets = rules.TargetsFor(change.Target.Repository);
            if (targets.Count > 0)
            {
                requests.Add(new ReplicationRequest(change.Target.Repository, digest, change.Target.Tag, [.. targets.Select(t => t.RegistryId)]));
            }
        }

        var last = batch[^1].Id;
        await _outbox.AdvanceAsync(
            ReplicationOutboxConsumer.CursorName,
            last,
            requests.Count == 0 ? null : (connection, transaction) => _store.RecordAsync(connection, transaction, requests),
            stoppingToken);
        _cursor = last;
        if (requests.Count > 0)
        {
            Log.Recorded(_logger, requests.Count);
        }

        return true;
    }

    private async Task AttemptAsync(ReplicationJob job, CancellationToken stoppingToken)
    {
        var target = _configuration.Current.Rules.SelectMany(r => r.Targets).FirstOrDefault(t => t.RegistryId == job.Destination);
        if (target is null)
        {
            await _store.FailAsync(job, ReplicationStore.Failed, $"the destination {job.Destination} is no longer in the replication configuration", null, stoppingToken);
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.AttemptTimeout);
        try
        {
            await _copier.CopyAsync(_http, target, job, timeout.Token);
            await _store.CompleteAsync(job, stoppingToken);
            Log.Replicated(_logger, job.Repository, job.Digest, job.Destination);
        }
        catch (Exception e) when (e is SourceImageGoneException or Errors.RegistryException)
        {
            await _store.FailAsync(job, ReplicationStore.Failed, e.Message, null, stoppingToken);
            Log.Failed(_logger, job.Repository, job.Digest, job.Destination, e.Message, null);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested
            && e is HttpRequestException or ReplicationException or OperationCanceledException or IOException)
        {
            var attempts = job.Attempts + 1;
            var reason = e is OperationCanceledException ? $"no answer within {_options.AttemptTimeout}" : e.Message;
            var next = _time.GetUtcNow() + Backoff(attempts);
            var status = attempts >= _options.FailedAfterAttempts ? ReplicationStore.Failed : ReplicationStore.InProgress;
            await _store.FailAsync(job, status, reason, next, stoppingToken);
            Log.Failed(_logger, job.Repository, job.Digest, job.Destination, reason, next);
        }
    }

    // Exponential in the attempts the row has had (persisted, so a restart does not reset it); no jitter: rows are
    // scheduled one by one, not all at once against one server the way reconnecting clients are (Core/Resilience's
    // ReconnectBackoff, which counts in memory, fits those).
    private TimeSpan Backoff(int attempts) =>
        TimeSpan.FromTicks((long)Math.Min(_options.MaxBackoff.Ticks, _options.Backoff.Ticks * Math.Pow(2, Math.Min(attempts - 1, 30))));

    private async Task WaitAsync(DateTimeOffset? nextDue, CancellationToken stoppingToken)
    {
        var wait = _options.PollInterval;
        if (nextDue is { } due && due - _time.GetUtcNow() < wait)
        {
            wait = due - _time.GetUtcNow();
        }

        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            var delay = Task.Delay(wait, _time, timer.Token);
            var woken = _wake.Reader.WaitToReadAsync(timer.Token).AsTask();
            await Task.WhenAny(delay, woken);
        }
        finally
        {
            await timer.CancelAsync();
        }

        stoppingToken.ThrowIfCancellationRequested();
    }
}

namespace Berth.Registry.Batching;

/// <summary>What one <see cref="BatchWorker"/> is for, and its limits.</summary>
/// <param name="Name">What is batched, for the logs ("pull events").</param>
/// <param name="Interval">The longest a noted item waits before it is written.</param>
/// <param name="FlushAt">How many waiting items start a write without waiting for the interval.</param>
/// <param name="Capacity">How many items may wait at most; beyond it new ones are dropped (counted and logged).</param>
/// <param name="CapacitySetting">The configuration key a dropping operator would raise, for the warning.</param>
internal sealed record BatchWorkerSettings(string Name, TimeSpan Interval, int FlushAt, int Capacity, string CapacitySetting);

/// <summary>
/// The loop shared by the registry's in-memory recorders of pulls (<c>PullEvents</c>, <c>PullRecorder</c>): their
/// owners buffer what the request path notes, this counts what waits and writes it through the owner's
/// <c>write</c> every <see cref="BatchWorkerSettings.Interval"/>, as soon as <see cref="BatchWorkerSettings.FlushAt"/>
/// items wait, and once more at shutdown; at <see cref="BatchWorkerSettings.Capacity"/> it refuses new items (the
/// writer fell behind: a stalled disk) and logs how many it refused, so memory stays bounded at any request rate. What
/// it batches is best effort (a pull acknowledged no commit): a write that fails loses that batch, never a request and
/// never the host. The buffer stays the owner's (a queue of events, a dictionary of pull times); the owner tells the
/// worker what it buffered (<see cref="TryAdmit"/>) and what its write took (<see cref="Taken"/>).
/// </summary>
internal sealed partial class BatchWorker : IDisposable
{
    private readonly BatchWorkerSettings _settings;
    private readonly Func<CancellationToken, Task<int>> _write;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // One write at a time: the loop's, a caller's and the final one may not interleave their drains.
    private readonly SemaphoreSlim _writing = new(1, 1);
    private int _pending;
    private long _dropped;
    private TaskCompletionSource _full = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="write">Takes what the owner buffered into the store; returns how many items it wrote.</param>
    /// <param name="logger">The owner's logger, so that the logs keep the owner's category.</param>
    public BatchWorker(BatchWorkerSettings settings, Func<CancellationToken, Task<int>> write, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.FlushAt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Capacity, settings.FlushAt);
        _settings = settings;
        _write = write;
        _time = time;
        _logger = logger;
    }

    public void Dispose() => _writing.Dispose();

    /// <summary>Items admitted and not yet taken by a write.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>
    /// Counts one more waiting item, before the owner buffers it; false at the cap: the owner drops it (counted here,
    /// logged at the next write). Reaching <see cref="BatchWorkerSettings.FlushAt"/> wakes the loop.
    /// </summary>
    public bool TryAdmit()
    {
        var pending = Interlocked.Increment(ref _pending);
        if (pending > _settings.Capacity)
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _dropped);
            return false;
        }

        if (pending == _settings.FlushAt)
        {
            Volatile.Read(ref _full).TrySetResult();
        }

        return true;
    }

    /// <summary>The owner's write took <paramref name="count"/> admitted items out of its buffer (or gave them back: an item admitted twice).</summary>
    public void Taken(int count) => Interlocked.Add(ref _pending, -count);

    /// <summary>Writes what waits now (the owner's write), and logs what was dropped since the last write.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            // A fresh trigger before the drain: a batch that fills up while this one is written wakes the next write.
            Interlocked.Exchange(ref _full, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var dropped = Interlocked.Exchange(ref _dropped, 0);
            if (dropped > 0)
            {
                LogDropped(_logger, dropped, _settings.Name, _settings.Capacity, _settings.CapacitySetting);
            }

            var written = await _write(cancellationToken);
            if (written > 0)
            {
                LogWritten(_logger, written, _settings.Name);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>The owner's <c>ExecuteAsync</c>: writes on the interval or at <see cref="BatchWorkerSettings.FlushAt"/>, whichever comes first, until stopped.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                var tick = Task.Delay(_settings.Interval, _time, interval.Token);
                await Task.WhenAny(tick, Volatile.Read(ref _full).Task);
                await interval.CancelAsync();
            }

            if (stoppingToken.IsCancellationRequested)
            {
                // Stopping: the owner's StopAsync writes what is left (FlushRemainingAsync).
                return;
            }

            await TryFlushAsync(stoppingToken);
        }
    }

    /// <summary>The owner's <c>StopAsync</c>, after the loop ended: writes what is left.</summary>
    public Task FlushRemainingAsync() => TryFlushAsync(CancellationToken.None);

    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is Microsoft.Data.Sqlite.SqliteException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            LogWriteFailed(_logger, exception, _settings.Name);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping while a write waited for its turn or ran: the final write takes what it left.
        }
    }
}

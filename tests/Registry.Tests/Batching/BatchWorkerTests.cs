using System.Collections.Concurrent;
using System.Threading.Channels;
using Berth.Registry.Batching;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Batching;

/// <summary>
/// <see cref="BatchWorker"/> on its own, with a fake clock and a buffer of the test's: a write on the interval, at
/// <c>FlushAt</c> without the clock, refusals at the cap counted and logged, the last write at the stop, and a failing
/// write that loses its batch but not the loop.
/// </summary>
public sealed class BatchWorkerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly TimerSignallingTime _timers;
    private readonly CapturingLogger _logger = new();
    private readonly ConcurrentQueue<int> _buffer = new();
    private readonly Channel<List<int>> _written = Channel.CreateUnbounded<List<int>>();
    private readonly BatchWorker _worker;
    private Exception? _failNext;

    public BatchWorkerTests()
    {
        _timers = new TimerSignallingTime(_time);
        _worker = new BatchWorker(new BatchWorkerSettings("test items", TimeSpan.FromSeconds(1), FlushAt: 3, Capacity: 5, "Test:Capacity"), WriteAsync, _timers, _logger);
    }

    public void Dispose() => _worker.Dispose();

    private Task<int> WriteAsync(CancellationToken cancellationToken)
    {
        var batch = new List<int>();
        while (_buffer.TryDequeue(out var item))
        {
            _worker.Taken(1);
            batch.Add(item);
        }

        if (Interlocked.Exchange(ref _failNext, null) is { } failure)
        {
            throw failure;
        }

        if (batch.Count > 0)
        {
            _written.Writer.TryWrite(batch);
        }

        return Task.FromResult(batch.Count);
    }

    private bool Add(int item)
    {
        if (!_worker.TryAdmit())
        {
            return false;
        }

        _buffer.Enqueue(item);
        return true;
    }

    [Fact]
    public async Task BelowFlushAt_ItemsWaitForTheInterval()
    {
        using var stop = new CancellationTokenSource();
        var loop = _worker.RunAsync(stop.Token);
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();

        Add(1);
        Add(2);
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(_written.Reader.TryRead(out _));
        Assert.Equal(2, _worker.Pending);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([1, 2], await _written.Reader.ReadAsync().AsTask().WithTimeout());
        Assert.Equal(0, _worker.Pending);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_logger.Messages.Contains((LogLevel.Debug, "Wrote 2 test items"))), what: "the write's log");

        await stop.CancelAsync();
        await loop.WithTimeout();
    }

    [Fact]
    public async Task AtFlushAt_TheBatchIsWritten_WithoutTheClock()
    {
        using var stop = new CancellationTokenSource();
        var loop = _worker.RunAsync(stop.Token);

        Add(1);
        Add(2);
        Add(3);

        Assert.Equal([1, 2, 3], await _written.Reader.ReadAsync().AsTask().WithTimeout());

        // The next batch fills on its own count: the trigger was renewed by the write.
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_worker.Pending == 0), what: "the first write");
        Add(4);
        Add(5);
        Add(6);
        Assert.Equal([4, 5, 6], await _written.Reader.ReadAsync().AsTask().WithTimeout());

        await stop.CancelAsync();
        await loop.WithTimeout();
    }

    [Fact]
    public async Task AtTheCap_ItemsAreRefused_CountedAndLogged_UntilAWriteMakesRoom()
    {
        // Not running: nothing writes behind the test's back, so the cap is what stops the items.
        var admitted = Enumerable.Range(1, 8).Select(Add).ToList();

        Assert.Equal([true, true, true, true, true, false, false, false], admitted);
        Assert.Equal(5, _worker.Pending);

        await _worker.FlushAsync(CancellationToken.None);
        Assert.Equal([1, 2, 3, 4, 5], await _written.Reader.ReadAsync().AsTask().WithTimeout());
        Assert.Contains(_logger.Messages, m => m == (LogLevel.Warning, "Dropped 3 test items: 5 were waiting to be written (Test:Capacity)"));

        // Room again, and the dropped count starts over.
        Assert.True(Add(9));
        await _worker.FlushAsync(CancellationToken.None);
        Assert.Equal([9], await _written.Reader.ReadAsync().AsTask().WithTimeout());
        Assert.Single(_logger.Messages, m => m.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task Stopping_WritesWhatIsLeft()
    {
        using var stop = new CancellationTokenSource();
        var loop = _worker.RunAsync(stop.Token);
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();
        Add(1);

        await stop.CancelAsync();
        await loop.WithTimeout();
        Assert.False(_written.Reader.TryRead(out _));
        await _worker.FlushRemainingAsync();

        Assert.Equal([1], await _written.Reader.ReadAsync().AsTask().WithTimeout());
    }

    [Fact]
    public async Task AFailingWrite_LosesItsBatch_AndTheLoopGoesOn()
    {
        using var stop = new CancellationTokenSource();
        var loop = _worker.RunAsync(stop.Token);
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();

        _failNext = new IOException("disk gone");
        Add(1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_logger.Messages.Any(m => m.Level == LogLevel.Warning)), what: "the failed write");
        Assert.Contains(_logger.Messages, m => m == (LogLevel.Warning, "Could not write test items; this batch is lost"));

        // The loop made its next timer and writes the next batch.
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();
        Add(2);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([2], await _written.Reader.ReadAsync().AsTask().WithTimeout());
        Assert.False(loop.IsCompleted);

        await stop.CancelAsync();
        await loop.WithTimeout();
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _messages = new();

        public IReadOnlyCollection<(LogLevel Level, string Message)> Messages => [.. _messages];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue((logLevel, formatter(state, exception)));
    }
}

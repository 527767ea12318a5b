using Berth.Registry.Gc;
using Berth.Registry.Http;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Gc;

/// <summary>
/// The collector's pacing on a fake clock, with a scripted queue whose batches take clock time: back to back when no
/// request arrives, and while requests arrive a pause after each batch of (1 - share) / share of that batch's time, so
/// that it works a quarter of the time at the default share of 0.25.
/// </summary>
public sealed class GcPacingTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 3, 0, 0, TimeSpan.Zero));
    private readonly TimerSignallingTime _timers;
    private readonly RequestTraffic _traffic = new();
    private readonly ScriptedQueue _queue;
    private readonly string _dataDir;
    private readonly SqliteMetadataStore _sqlite;
    private readonly RegistryStore _store;
    private readonly GarbageCollector _collector;

    public GcPacingTests()
    {
        _timers = new TimerSignallingTime(_time);
        _queue = new ScriptedQueue(_time, _traffic);
        _dataDir = Directory.CreateTempSubdirectory("berth-gc-pacing-").FullName;
        var layout = RegistryDataDirectory.Open(_dataDir);
        _sqlite = new SqliteMetadataStore(layout, _time);
        var blobs = new FileSystemBlobStore(layout);
        _store = new RegistryStore(_sqlite, blobs, Options.Create(new RegistryOptions { DataDir = _dataDir }));
        var options = Options.Create(new GcOptions { BatchSize = 2, ReviewDelay = TimeSpan.Zero, BusyShare = 0.25 });
        _collector = new GarbageCollector(_store, _queue, blobs, _traffic, _timers, options, NullLogger<GarbageCollector>.Instance);
    }

    public void Dispose()
    {
        _collector.Dispose();
        _store.Dispose();
        _sqlite.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static TimeSpan Ms(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds);

    [Fact]
    public async Task WithNoRequest_TheBatchesRunBackToBack()
    {
        // Five manifest batches of 10, 20, 30, 40 and 50 ms.
        _queue.Script(batches: 5, requestDuring: _ => false);

        var report = await _collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        Assert.Null(report.Run.Error);
        Assert.Equal([Ms(0), Ms(10), Ms(30), Ms(60), Ms(100)], _queue.Starts);
        Assert.False(_timers.Created.Reader.TryRead(out _));
    }

    [Fact]
    public async Task WhileRequestsArrive_ItPausesThreeTimesEachBatchsTime_AndGoesFlatOutOnceTheyStop()
    {
        // Requests arrive during the first two batches (10 and 20 ms of work), then none.
        _queue.Script(batches: 5, requestDuring: batch => batch < 2);

        var run = _collector.RunAsync(dryRun: false, CancellationToken.None);

        // After the first batch (0-10 ms): a pause of 30 ms, and no batch before it ends.
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal([Ms(0)], _queue.Starts);
        _time.Advance(Ms(29));
        Assert.Equal([Ms(0)], _queue.Starts);
        _time.Advance(Ms(1));

        // The second batch (40-60 ms) saw a request too: a pause of 60 ms.
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal([Ms(0), Ms(40)], _queue.Starts);
        _time.Advance(Ms(59));
        Assert.Equal([Ms(0), Ms(40)], _queue.Starts);
        _time.Advance(Ms(1));

        // No request since: the last three batches back to back, with no clock moved by the test.
        var report = await run.WithTimeout();

        Assert.Null(report.Run.Error);
        Assert.Equal([Ms(0), Ms(40), Ms(120), Ms(150), Ms(190)], _queue.Starts);
        Assert.False(_timers.Created.Reader.TryRead(out _));
    }

    [Fact]
    public async Task AtAShareOfOne_ItNeverPauses()
    {
        var options = Options.Create(new GcOptions { BatchSize = 2, ReviewDelay = TimeSpan.Zero, BusyShare = 1 });
        using var collector = new GarbageCollector(_store, _queue, new FileSystemBlobStore(RegistryDataDirectory.Open(_dataDir)), _traffic, _timers, options, NullLogger<GarbageCollector>.Instance);
        _queue.Script(batches: 3, requestDuring: _ => true);

        await collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        Assert.Equal([Ms(0), Ms(10), Ms(30)], _queue.Starts);
        Assert.False(_timers.Created.Reader.TryRead(out _));
    }

    /// <summary>
    /// A manifest queue of full batches (then an empty one), batch N taking (N + 1) x 10 ms of the fake clock, a request
    /// noted during the batches the script says; nothing to stamp and no blob.
    /// </summary>
    private sealed class ScriptedQueue(FakeTimeProvider time, RequestTraffic traffic) : IGcMetadata
    {
        private readonly List<TimeSpan> _starts = [];
        private DateTimeOffset _origin;
        private int _batches;
        private Func<int, bool> _requestDuring = _ => false;

        public IReadOnlyList<TimeSpan> Starts
        {
            get
            {
                lock (_starts)
                {
                    return [.. _starts];
                }
            }
        }

        public void Script(int batches, Func<int, bool> requestDuring)
        {
            (_batches, _requestDuring, _origin) = (batches, requestDuring, time.GetUtcNow());
        }

        public Task<IAsyncDisposable> BeginRunAsync(long cacheBytes, long mapBytes, int checkpointPages, CancellationToken cancellationToken) =>
            Task.FromResult<IAsyncDisposable>(new NoSettings());

        public Task<int> StampAsync(DateTime now, int limit, CancellationToken cancellationToken) => Task.FromResult(0);

        public Task<(IReadOnlyList<CollectedManifest> Deleted, int Reviewed)> CollectManifestsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken)
        {
            int batch;
            lock (_starts)
            {
                batch = _starts.Count;
                _starts.Add(time.GetUtcNow() - _origin);
            }

            if (_requestDuring(batch))
            {
                traffic.Note();
            }

            time.Advance(TimeSpan.FromMilliseconds((batch + 1) * 10));
            var reviewed = batch < _batches - 1 ? limit : 0;
            return Task.FromResult<(IReadOnlyList<CollectedManifest>, int)>(([], reviewed));
        }

        public Task<(IReadOnlyList<CollectedBlob> Deleted, int Reviewed)> CollectBlobsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<(IReadOnlyList<CollectedBlob>, int)>(([], 0));

        public Task<(IReadOnlyList<CollectedManifest> Manifests, IReadOnlyList<CollectedBlob> Blobs)> PreviewAsync(DateTime cutoff, CancellationToken cancellationToken) =>
            throw new NotSupportedException("Not scripted: these tests run collections.");

        public Task RecordRunAsync(GcRun run, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlyList<GcRun>> ListRunsAsync(int limit, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<GcRun>>([]);

        private sealed class NoSettings : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}

using System.Threading.Channels;
using Berth.Registry.Images;
using Berth.Registry.Repositories;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Repositories;

/// <summary>
/// <see cref="PullRecorder"/>: last pull times noted in memory and written in batches — on the interval, and as soon as
/// the batch reaches its cap; and while writes stall, at most twice the cap wait, so memory stays bounded however fast
/// manifests are pulled.
/// </summary>
public sealed class PullRecorderTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly TimerSignallingTime _timers;
    private readonly RecordingMetadata _metadata = new();

    public PullRecorderTests() => _timers = new TimerSignallingTime(_time);

    private PullRecorder Recorder(int maxPending) => new(_metadata, _timers,
        Options.Create(new RepositoryOptions { LastPullFlushInterval = TimeSpan.FromMinutes(1), LastPullMaxPending = maxPending }),
        NullLogger<PullRecorder>.Instance);

    [Fact]
    public async Task AFullBatch_IsWritten_WithoutWaitingForTheInterval()
    {
        using var recorder = Recorder(maxPending: 3);
        await recorder.StartAsync(CancellationToken.None);

        recorder.Record(1, "sha256:a");
        recorder.Record(1, "sha256:a"); // the same manifest again: still one waiting
        recorder.Record(2, "sha256:a");
        recorder.Record(1, "sha256:b"); // the third distinct one fills the batch

        var written = await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(
            ["1 sha256:a", "1 sha256:b", "2 sha256:a"],
            written.Select(p => $"{p.RepositoryId} {p.Digest}").Order(StringComparer.Ordinal));
        Assert.All(written, p => Assert.Equal(_time.GetUtcNow().UtcDateTime, p.PulledAt));
        await recorder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ABatchBelowTheCap_WaitsForTheInterval_ThenIsWritten()
    {
        using var recorder = Recorder(maxPending: 100);
        await recorder.StartAsync(CancellationToken.None);
        // The loop runs on its own thread: the clock moves only once its interval timer exists.
        await _timers.Created.Reader.ReadAsync().AsTask().WithTimeout();

        recorder.Record(1, "sha256:a");
        _time.Advance(TimeSpan.FromSeconds(59));
        recorder.Record(1, "sha256:a");
        Assert.False(_metadata.Batches.Reader.TryRead(out _));

        _time.Advance(TimeSpan.FromSeconds(1));
        var written = Assert.Single(await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout());
        Assert.Equal(_time.GetUtcNow().UtcDateTime.AddSeconds(-1), written.PulledAt);

        // The next batch fills on its own count, not the previous one's.
        for (var i = 0; i < 100; i++)
        {
            recorder.Record(7, $"sha256:{i}");
        }

        Assert.Equal(100, (await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout()).Count);
        await recorder.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stopping_WritesWhatIsLeft()
    {
        using var recorder = Recorder(maxPending: 100);
        await recorder.StartAsync(CancellationToken.None);
        recorder.Record(3, "sha256:c");

        await recorder.StopAsync(CancellationToken.None);

        Assert.Equal("sha256:c", Assert.Single(await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout()).Digest);
    }

    [Fact]
    public async Task WhileWritesStall_TwiceTheCapWait_AndFurtherManifestsAreNotNoted()
    {
        // Not started: no write runs, as when the disk is stuck.
        using var recorder = Recorder(maxPending: 2);
        for (var i = 0; i < 6; i++)
        {
            recorder.Record(1, $"sha256:{i}");
        }

        recorder.Record(1, "sha256:0"); // one already waiting is still stamped

        await recorder.FlushAsync(CancellationToken.None);
        Assert.Equal(
            ["sha256:0", "sha256:1", "sha256:2", "sha256:3"],
            (await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout()).Select(p => p.Digest).Order(StringComparer.Ordinal));

        // Room again once written.
        recorder.Record(1, "sha256:5");
        await recorder.FlushAsync(CancellationToken.None);
        Assert.Equal("sha256:5", Assert.Single(await _metadata.Batches.Reader.ReadAsync().AsTask().WithTimeout()).Digest);
    }

    private sealed class RecordingMetadata : IImageMetadata
    {
        public Channel<IReadOnlyCollection<PullRecord>> Batches { get; } = Channel.CreateUnbounded<IReadOnlyCollection<PullRecord>>();

        public Task<IReadOnlyList<ImageRecord>?> ListImagesAsync(string repository, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<ImageRecord>?>(null);

        public Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken)
        {
            Batches.Writer.TryWrite(pulls);
            return Task.CompletedTask;
        }
    }
}

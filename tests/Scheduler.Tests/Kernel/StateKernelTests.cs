using System.Collections.Concurrent;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Persistence;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.TestSupport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Scheduler.Tests.Kernel;

/// <summary>
/// The kernel's own rules, on a real SQLite store: clusters do not wait for each other's locks, the change feed hears
/// of a commit only once it is durable and in commit order per cluster, and a commit that cannot be stored stops the
/// process instead of leaving memory ahead of the database.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "xunit disposes the store in IAsyncLifetime.DisposeAsync.")]
public sealed class StateKernelTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new();
    private readonly TestLifetime _lifetime = new();
    private GatedStore? _store;
    private StateKernel? _kernel;

    private StateKernel Kernel => _kernel!;

    public async Task InitializeAsync()
    {
        _store = new GatedStore(new SqliteSchedulerStore(Path.Combine(_data.Path, "scheduler.db"), fullSync: false, NullLogger<SqliteSchedulerStore>.Instance));
        _kernel = new StateKernel(_store, TimeProvider.System, _lifetime, NullLogger<StateKernel>.Instance);
        await _kernel.LoadAsync(DateTimeOffset.MinValue, CancellationToken.None);
        await Kernel.CommitAsync("a", tx => tx.EnsureCluster(), create: true);
        await Kernel.CommitAsync("b", tx => tx.EnsureCluster(), create: true);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            _store.Open();
            await _store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete();
    }

    [Fact]
    public async Task CommitOnOneCluster_DoesNotWaitForAnotherClustersLock()
    {
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // A change of cluster a that holds a's lock until the test lets it go.
        var holdingA = Task.Run(() => Kernel.CommitAsync("a", tx =>
        {
            entered.Set();
            release.Wait(TaskTimeouts.Default);
            return tx.Cluster.Name;
        }));
        Assert.True(entered.Wait(TaskTimeouts.Default));

        var readingA = Task.Run(() => Kernel.ReadCluster("a", c => c!.Name));
        var changedB = await Kernel.CommitAsync("b", tx =>
        {
            tx.Cluster.Record!.CreatedAt = tx.Now;
            tx.Save(tx.Cluster.Record);
            return tx.Cluster.Name;
        }).WithTimeout();

        // b committed (durably) while a's lock was held; a read of a cannot have passed that lock.
        Assert.Equal("b", changedB);
        Assert.False(readingA.IsCompleted);
        release.Set();
        Assert.Equal("a", await holdingA.WithTimeout());
        Assert.Equal("a", await readingA.WithTimeout());
    }

    [Fact]
    public async Task ChangeFeed_HearsOfACommitOnlyOnceDurable_AndInCommitOrderPerCluster()
    {
        var observer = new Recorder(_store!);
        using var subscription = Kernel.Subscribe(observer);

        // Durability held back: the commit is queued, applied in memory, and not yet told to anyone.
        _store!.Close();
        var held = Kernel.CommitAsync("a", tx =>
        {
            tx.Save(tx.Cluster.Record!);
            return true;
        });
        // The commit's synchronous part (change, queue) has run; telling the feed before durability would have run in it.
        Assert.False(held.IsCompleted);
        Assert.Empty(observer.Changes);
        _store.Open();
        await held.WithTimeout();

        // Many writers on two clusters at once: each cluster's changes arrive in the order they were committed.
        var commits = Enumerable.Range(0, 400).Select(i => Task.Run(() => Kernel.CommitAsync(i % 2 == 0 ? "a" : "b", tx =>
        {
            tx.Save(tx.Cluster.Record!);
            return true;
        }))).ToList();
        await Task.WhenAll(commits).WithTimeout();

        Assert.Equal(401, observer.Changes.Count);
        Assert.All(observer.Changes, c => Assert.True(c.WasDurable));
        foreach (var cluster in new[] { "a", "b" })
        {
            var sequences = observer.Changes.Where(c => c.Cluster == cluster).Select(c => c.Sequence).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }
    }

    [Fact]
    public async Task FailedCommit_IsUnavailable_AndStopsTheProcess()
    {
        _store!.FailNext = true;

        var e = await Assert.ThrowsAsync<StateException>(() => Kernel.CommitAsync("a", tx =>
        {
            tx.Save(tx.Cluster.Record!);
            return true;
        }));

        Assert.Equal(StateError.Unavailable, e.Error);
        Assert.True(_lifetime.StopRequested);
    }

    [Fact]
    public async Task UnknownCluster_IsNotFound_AndNotCreated()
    {
        await Assert.ThrowsAsync<StateException>(() => Kernel.CommitAsync("nowhere", tx => true));

        Assert.DoesNotContain("nowhere", Kernel.ClusterNames);
    }

    [Fact]
    public void KernelVocabulary_HasTheProtocolsNumbersForTheSameNames()
    {
        // The gRPC edge converts the kernel's enums to the protocol's by number (WireConvert).
        AssertSameNames<LifecycleStatus, V1.LifecycleStatus>();
        AssertSameNames<StopCode, V1.StopCode>();
        AssertSameNames<HealthStatus, V1.HealthStatus>();
    }

    private static void AssertSameNames<TKernel, TWire>()
        where TKernel : struct, Enum
        where TWire : struct, Enum
    {
        var kernel = Enum.GetValues<TKernel>().ToDictionary(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture), v => v.ToString());
        var wire = Enum.GetValues<TWire>().ToDictionary(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture), v => v.ToString());
        Assert.Equal(wire.OrderBy(p => p.Key), kernel.OrderBy(p => p.Key));
    }

    /// <summary>Records what the feed says, and whether the store had made it durable by then.</summary>
    private sealed class Recorder(GatedStore store) : IChangeObserver
    {
        public ConcurrentQueue<(string? Cluster, long Sequence, bool WasDurable)> Changes { get; } = new();

        public void OnCommitted(CommittedChange change) => Changes.Enqueue((change.Cluster, change.Sequence, store.IsOpen));
    }

    /// <summary>The real store, with durability held back while closed and a failure on demand.</summary>
    private sealed class GatedStore(SqliteSchedulerStore inner) : IStateStore
    {
        private TaskCompletionSource _gate = Opened();

        public bool FailNext { get; set; }

        public bool IsOpen => _gate.Task.IsCompleted;

        public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _gate.TrySetResult();

        public Task OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

        public Task LoadAsync(IStateSink sink, CancellationToken cancellationToken) => inner.LoadAsync(sink, cancellationToken);

        public Task WriteAsync(StateWrites writes)
        {
            if (FailNext)
            {
                FailNext = false;
                return Task.FromException(new IOException("disk gone"));
            }

            var durable = inner.WriteAsync(writes);
            var gate = _gate.Task;
            return Task.WhenAll(durable, gate);
        }

        public Task<int> DeleteEndedAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken) => inner.DeleteEndedAsync(before, limit, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();

        private static TaskCompletionSource Opened()
        {
            var opened = new TaskCompletionSource();
            opened.SetResult();
            return opened;
        }
    }

    private sealed class TestLifetime : IHostApplicationLifetime
    {
        public bool StopRequested { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => StopRequested = true;
    }
}

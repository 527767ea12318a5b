using System.Collections.Concurrent;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// The scheduler's state kernel: it owns the records (per cluster in <see cref="ClusterState"/>, task definitions in the
/// global <see cref="TaskDefinitionCatalog"/>), their indexes and their locks, and the one path every change takes.
/// </summary>
/// <remarks>
/// A commit: take the scope's lock (one cluster, or the catalog); let the handler validate and change memory through
/// its transaction; queue the records it saved to the store while still holding the lock, so the database sees each
/// scope's changes in memory's order; release the lock and await durability; apply what had to wait for it (tasks
/// become visible to agents, instances get new desired-state versions) under the lock again; then tell the change
/// feed's observers (sessions push, the reconciler wakes, watchers follow), per cluster in commit order. A handler
/// that throws has changed nothing (handlers validate before they change). A commit that fails leaves memory ahead of
/// the database, so the process stops (a restart reloads the durable truth) rather than serve a state that a crash
/// would forget. Clusters do not share a lock: operations on different clusters run in parallel.
/// </remarks>
internal sealed partial class StateKernel(IStateStore store, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<StateKernel> logger)
{
    private readonly ConcurrentDictionary<string, ClusterState> _clusters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _instanceClusters = new(StringComparer.Ordinal);

    // Load balancers and target groups have account-wide names and ARNs (ELB): which cluster holds each, by
    // "lb:<name>", "tg:<name>" and ARN. Claimed inside the commit that creates the record, so two clusters never
    // create the same name.
    private readonly ConcurrentDictionary<string, string> _loadBalancingIndex = new(StringComparer.Ordinal);
    private readonly Lock _observersGate = new();
    private readonly PublishQueue _catalogFeed = new();
    private readonly PublishQueue _certificateFeed = new();
    private IChangeObserver[] _observers = [];
    private long _seq;
    private long _commits;

    public TaskDefinitionCatalog Definitions { get; } = new();

    /// <summary>Imported certificates (ACM), account-wide, and the listeners using them.</summary>
    public CertificateCatalog Certificates { get; } = new();

    /// <summary>Milliseconds, as stored: a time read back after a restart equals the one answered before it.</summary>
    public DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    public TimeProvider Time => time;

    /// <summary>The names of every cluster in memory (created or not), in no order.</summary>
    public IEnumerable<string> ClusterNames => _clusters.Keys;

    /// <summary>
    /// The next desired-state sequence number: above every one issued before, in this process or (being at least the
    /// clock in microseconds) in any earlier one, so versions keep growing across restarts without persisting every
    /// version bump. Lock-free: every cluster draws from it.
    /// </summary>
    public long NextSeq()
    {
        var floor = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        while (true)
        {
            var current = Volatile.Read(ref _seq);
            var next = Math.Max(current + 1, floor);
            if (Interlocked.CompareExchange(ref _seq, next, current) == current)
            {
                return next;
            }
        }
    }

    /// <summary>Raises the sequence to at least <paramref name="seen"/> (start-up: above everything stored).</summary>
    internal void SeenSeq(long seen)
    {
        long current;
        while ((current = Volatile.Read(ref _seq)) < seen && Interlocked.CompareExchange(ref _seq, seen, current) != current)
        {
        }
    }

    /// <summary>The cluster an instance belongs to, or null for an instance the scheduler does not know.</summary>
    public string? ClusterOfInstance(string instanceId) => _instanceClusters.GetValueOrDefault(instanceId);

    internal void IndexInstance(string instanceId, string cluster) => _instanceClusters[instanceId] = cluster;

    /// <summary>The cluster that holds a load balancer or target group, by index key (<c>lb:name</c>, <c>tg:name</c>, or an ARN).</summary>
    public string? ClusterOfLoadBalancing(string key) => _loadBalancingIndex.GetValueOrDefault(key);

    /// <summary>Claims an index key for a cluster; false when another record holds it.</summary>
    public bool ClaimLoadBalancing(string key, string cluster) => _loadBalancingIndex.TryAdd(key, cluster);

    /// <summary>Gives an index key back (its record was deleted).</summary>
    public void ReleaseLoadBalancing(string key) => _loadBalancingIndex.TryRemove(key, out _);

    internal void IndexLoadBalancing(LoadBalancingObject record)
    {
        switch (record)
        {
            case LoadBalancerRecord lb:
                _loadBalancingIndex[LoadBalancingKeys.LoadBalancerName(lb.Name)] = lb.Cluster;
                _loadBalancingIndex[lb.Arn] = lb.Cluster;
                break;
            case TargetGroupRecord group:
                _loadBalancingIndex[LoadBalancingKeys.TargetGroupName(group.Name)] = group.Cluster;
                _loadBalancingIndex[group.Arn] = group.Cluster;
                break;
            default:
                _loadBalancingIndex[record.Arn] = record.Cluster;
                break;
        }
    }

    /// <summary>The sequence of the newest commit so far; read under a cluster's lock, it covers every change that cluster's memory shows.</summary>
    public long LastSequence => Interlocked.Read(ref _commits);

    /// <summary>
    /// Changes runtime-only state of a cluster under its lock (balancer health and in-flight reports). Never stored, and
    /// the change feed does not hear of it; false for an unknown cluster.
    /// </summary>
    public bool UpdateClusterRuntime(string cluster, Action<ClusterState> update)
    {
        if (!_clusters.TryGetValue(cluster, out var state))
        {
            return false;
        }

        lock (state.Gate)
        {
            update(state);
        }

        return true;
    }

    /// <summary>Reads a cluster under its lock; <paramref name="read"/> gets null for a cluster nothing created.</summary>
    public T ReadCluster<T>(string cluster, Func<ClusterState?, T> read)
    {
        if (!_clusters.TryGetValue(cluster, out var state))
        {
            return read(null);
        }

        lock (state.Gate)
        {
            return read(state);
        }
    }

    /// <summary>Reads the cluster of an instance under its lock; <paramref name="read"/> gets null for an unknown instance.</summary>
    public T ReadInstance<T>(string instanceId, Func<ClusterState?, InstanceRecord?, T> read)
    {
        if (ClusterOfInstance(instanceId) is not { } cluster || !_clusters.TryGetValue(cluster, out var state))
        {
            return read(null, null);
        }

        lock (state.Gate)
        {
            return read(state, state.Instances.GetValueOrDefault(instanceId));
        }
    }

    /// <summary>
    /// Changes runtime-only fields of an instance under its cluster's lock (heartbeats: when it was last heard, which
    /// version it acknowledged). They are never stored and the change feed does not hear of them.
    /// </summary>
    public void UpdateRuntime(string instanceId, Action<InstanceRecord> update)
    {
        if (ClusterOfInstance(instanceId) is not { } cluster || !_clusters.TryGetValue(cluster, out var state))
        {
            return;
        }

        lock (state.Gate)
        {
            if (state.Instances.TryGetValue(instanceId, out var instance))
            {
                update(instance);
            }
        }
    }

    /// <summary>
    /// Changes one cluster: <paramref name="change"/> runs under the cluster's lock with a transaction, then the commit
    /// path (see the class remarks) runs. <paramref name="create"/> makes the cluster's state if nothing did yet (the
    /// handler still decides whether to create the cluster record); otherwise an unknown cluster is NOT_FOUND.
    /// </summary>
    public Task<T> CommitAsync<T>(string cluster, Func<ClusterTransaction, T> change, bool create = false)
    {
        ClusterState? state;
        if (create)
        {
            state = _clusters.GetOrAdd(cluster, static name => new ClusterState(name));
        }
        else if (!_clusters.TryGetValue(cluster, out state))
        {
            throw StateException.NotFound($"Cluster '{cluster}' not found.");
        }

        return CommitCoreAsync(state.Gate, state.Feed, new ClusterTransaction(this, state), change);
    }

    /// <summary>Changes the cluster of an instance (an agent speaking for it); PERMISSION_DENIED for an unknown instance.</summary>
    public Task<T> CommitInstanceAsync<T>(string instanceId, Func<ClusterTransaction, InstanceRecord, T> change)
    {
        if (ClusterOfInstance(instanceId) is not { } cluster || !_clusters.TryGetValue(cluster, out var state))
        {
            throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.");
        }

        return CommitCoreAsync(state.Gate, state.Feed, new ClusterTransaction(this, state), tx =>
            change(tx, tx.Cluster.Instances.GetValueOrDefault(instanceId)
                ?? throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.")));
    }

    /// <summary>Changes the task-definition catalog through the same commit path.</summary>
    public Task<T> CommitCatalogAsync<T>(Func<CatalogTransaction, TaskDefinitionCatalog, T> change) =>
        CommitCoreAsync(Definitions.Gate, _catalogFeed, new CatalogTransaction(this), tx => change(tx, Definitions));

    /// <summary>Changes the certificate catalog through the same commit path (its lock is taken last, see <see cref="CertificateCatalog"/>).</summary>
    public Task<T> CommitCertificatesAsync<T>(Func<CertificateTransaction, CertificateCatalog, T> change) =>
        CommitCoreAsync(Certificates.Gate, _certificateFeed, new CertificateTransaction(this), tx => change(tx, Certificates));

    /// <summary>The one commit path (see the class remarks).</summary>
    private async Task<T> CommitCoreAsync<TTransaction, T>(Lock gate, PublishQueue feed, TTransaction tx, Func<TTransaction, T> change)
        where TTransaction : Transaction
    {
        T result;
        Task durable;
        PublishQueue.Slot? slot = null;
        lock (gate)
        {
            result = change(tx);
            durable = tx.HasWrites ? store.WriteAsync(tx.Writes) : Task.CompletedTask;
            if (tx.Describe(Interlocked.Increment(ref _commits)) is { } described)
            {
                slot = feed.Enqueue(described);
            }
        }

        try
        {
            await DurableAsync(durable);
        }
        catch
        {
            slot?.Abandon();
            Drain(feed);
            throw;
        }

        if (tx is ClusterTransaction { HasDurableEffects: true } cluster)
        {
            lock (gate)
            {
                cluster.ApplyDurableEffects();
            }
        }

        if (slot is not null)
        {
            slot.Ready();
            Drain(feed);
        }

        return result;
    }

    /// <summary>Waits until queued records are durable; a failure stops the process (see the class remarks).</summary>
    private async Task DurableAsync(Task commit)
    {
        if (commit.IsCompletedSuccessfully)
        {
            return;
        }

        try
        {
            await commit;
        }
        catch (Exception e)
        {
            Log.CommitFailedStopping(logger, e);
            lifetime.StopApplication();
            throw new StateException(StateError.Unavailable, "The change could not be stored; the scheduler is restarting.");
        }
    }

    /// <summary>
    /// Takes records that ended before <paramref name="before"/> (STOPPED tasks, INACTIVE services and instances) out of
    /// memory, at most <paramref name="limitPerCluster"/> per cluster and call so that no cluster's lock is held for long.
    /// </summary>
    public int EvictEnded(DateTimeOffset before, int limitPerCluster)
    {
        var evicted = 0;
        var instances = new List<string>();
        foreach (var cluster in _clusters.Values)
        {
            lock (cluster.Gate)
            {
                evicted += cluster.EvictEnded(before, limitPerCluster, instances);
            }
        }

        foreach (var id in instances)
        {
            _instanceClusters.TryRemove(id, out _);
        }

        return evicted;
    }

    /// <summary>Adds an observer of the change feed; dispose the result to remove it.</summary>
    public IDisposable Subscribe(IChangeObserver observer)
    {
        lock (_observersGate)
        {
            _observers = [.. _observers, observer];
        }

        return new Subscription(this, observer);
    }

    private void Unsubscribe(IChangeObserver observer)
    {
        lock (_observersGate)
        {
            _observers = [.. _observers.Where(o => !ReferenceEquals(o, observer))];
        }
    }

    /// <summary>Delivers the ready changes at the head of a scope's queue, in order; one deliverer at a time per scope.</summary>
    private void Drain(PublishQueue feed)
    {
        while (feed.TryTakeReady(out var change))
        {
            try
            {
                if (change is null)
                {
                    continue;
                }

                foreach (var observer in Volatile.Read(ref _observers))
                {
                    try
                    {
                        observer.OnCommitted(change);
                    }
                    catch (Exception e)
                    {
                        // One observer's fault must not keep the others (sessions, the reconciler) from hearing of it.
                        Log.ObserverFailed(logger, observer.GetType().Name, e);
                    }
                }
            }
            finally
            {
                feed.Delivered();
            }
        }
    }

    private sealed class Subscription(StateKernel kernel, IChangeObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                kernel.Unsubscribe(observer);
            }
        }
    }
}

/// <summary>
/// A scope's committed changes waiting to be told, in commit order: a commit is told once its durable effects are
/// applied, and never before an earlier commit of the same scope.
/// </summary>
internal sealed class PublishQueue
{
    private readonly Lock _gate = new();
    private readonly Queue<Slot> _slots = new();
    private bool _delivering;

    public Slot Enqueue(CommittedChange change)
    {
        var slot = new Slot(change);
        lock (_gate)
        {
            _slots.Enqueue(slot);
        }

        return slot;
    }

    /// <summary>Takes the head if it is ready and nobody is delivering; the caller then calls <see cref="Delivered"/>.</summary>
    public bool TryTakeReady(out CommittedChange? change)
    {
        lock (_gate)
        {
            if (_delivering || !_slots.TryPeek(out var head) || !head.IsReady)
            {
                change = null;
                return false;
            }

            _slots.Dequeue();
            _delivering = true;
            change = head.IsAbandoned ? null : head.Change;
            return true;
        }
    }

    public void Delivered()
    {
        lock (_gate)
        {
            _delivering = false;
        }
    }

    internal sealed class Slot(CommittedChange change)
    {
        private int _state;

        public CommittedChange Change { get; } = change;

        public bool IsReady => Volatile.Read(ref _state) != 0;

        public bool IsAbandoned => Volatile.Read(ref _state) == 2;

        public void Ready() => Volatile.Write(ref _state, 1);

        public void Abandon() => Volatile.Write(ref _state, 2);
    }
}

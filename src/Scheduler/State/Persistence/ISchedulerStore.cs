namespace Berth.Scheduler.State.Persistence;

/// <summary>
/// Durable storage of the scheduler's state. The in-memory model is the source for reads; this store is written
/// through before any change is acknowledged, and read once at start-up. SQLite today; PostgreSQL is meant to be a
/// second implementation of this interface.
/// </summary>
internal interface ISchedulerStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Reads every cluster.</summary>
    Task<IReadOnlyList<ClusterRow>> ReadClustersAsync(CancellationToken cancellationToken);

    /// <summary>Reads every task-definition revision.</summary>
    Task<IReadOnlyList<TaskDefinitionRow>> ReadTaskDefinitionsAsync(CancellationToken cancellationToken);

    /// <summary>Reads every container instance.</summary>
    Task<IReadOnlyList<InstanceRow>> ReadInstancesAsync(CancellationToken cancellationToken);

    /// <summary>Reads every service (with its deployments and events).</summary>
    Task<IReadOnlyList<ServiceRow>> ReadServicesAsync(CancellationToken cancellationToken);

    /// <summary>Streams every task (there may be millions: rows are not buffered).</summary>
    IAsyncEnumerable<TaskRow> ReadTasksAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes the rows (insert or replace, by key) in one transaction. Completes when they are durable. Concurrent
    /// calls are grouped into shared transactions (group commit), so throughput does not depend on one fsync per call.
    /// </summary>
    Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken);
}

/// <summary>Rows to insert or replace together.</summary>
internal sealed class ChangeSet
{
    public List<ClusterRow> Clusters { get; } = [];

    public List<TaskDefinitionRow> TaskDefinitions { get; } = [];

    public List<InstanceRow> Instances { get; } = [];

    public List<TaskRow> Tasks { get; } = [];

    public List<ServiceRow> Services { get; } = [];

    public bool IsEmpty => Clusters.Count == 0 && TaskDefinitions.Count == 0 && Instances.Count == 0 && Tasks.Count == 0 && Services.Count == 0;
}

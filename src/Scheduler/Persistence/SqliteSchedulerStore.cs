using System.Reflection;
using System.Threading.Channels;
using Berth.Scheduler.Kernel;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Berth.Scheduler.Persistence;

/// <summary>
/// The SQLite store: one file under the data dir, WAL journal, one writer connection fed by a group-commit loop. Its
/// format is its own (<see cref="StoredForm"/>); EF Core owns the schema and the migrations.
/// </summary>
internal sealed partial class SqliteSchedulerStore : IStateStore
{
    // Enough rows per transaction to amortize the commit, few enough that one batch never stalls callers for long.
    private const int MaxBatchCommits = 512;

    private readonly string _connectionString;
    private readonly bool _fullSync;
    private readonly ILogger<SqliteSchedulerStore> _logger;
    private readonly Channel<PendingWork> _work = Channel.CreateUnbounded<PendingWork>(new UnboundedChannelOptions { SingleReader = true });
    private SqliteConnection? _writer;
    private Task? _writerLoop;

    public SqliteSchedulerStore(string databasePath, bool fullSync, ILogger<SqliteSchedulerStore> logger)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString();
        _fullSync = fullSync;
        _logger = logger;
    }

    /// <summary>The ids of the migrations compiled into this assembly for <see cref="SchedulerDbContext"/>, in order.</summary>
    internal static IReadOnlyList<string> AssemblyMigrations { get; } = typeof(SchedulerDbContext).Assembly.GetTypes()
        .Where(t => t.GetCustomAttribute<DbContextAttribute>()?.ContextType == typeof(SchedulerDbContext))
        .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
        .OfType<string>()
        .Order(StringComparer.Ordinal)
        .ToList();

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _writer = await OpenConnectionAsync(cancellationToken);
        // EF Core builds its model and migrations services before it can tell that nothing is pending, which costs a
        // second or two of start-up; when the history table already lists exactly this assembly's migrations the
        // schema is current and there is nothing for it to do.
        var applied = await AppliedMigrationsAsync(_writer, cancellationToken);
        if (!applied.SequenceEqual(AssemblyMigrations, StringComparer.Ordinal))
        {
            var options = new DbContextOptionsBuilder<SchedulerDbContext>().UseSqlite(_connectionString).Options;
            await using var context = new SchedulerDbContext(options);
            var migrator = context.GetService<IMigrator>();
            if (!applied.Contains(LegacyConversion.DropsLegacyColumns, StringComparer.Ordinal))
            {
                // A database an older scheduler wrote (or a new one): add the new columns, fill them from the old
                // protobuf blobs once, then let the last migrations drop the blobs.
                await migrator.MigrateAsync(LegacyConversion.AddsStoredFormat, cancellationToken: cancellationToken);
                var converted = await LegacyConversion.ConvertAsync(_writer, cancellationToken);
                if (converted > 0)
                {
                    Log.Converted(_logger, converted);
                }
            }

            await migrator.MigrateAsync(cancellationToken: cancellationToken);
        }

        _writerLoop = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    private static async Task<List<string>> AppliedMigrationsAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory'";
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            return [];
        }

        command.CommandText = "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId";
        var applied = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied.Add(reader.GetString(0));
        }

        return applied;
    }

    internal async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        // WAL: readers never block the writer. FULL fsyncs the WAL at every commit (survives power loss);
        // NORMAL survives a kill -9 of the process, which is what "acknowledged means durable" needs here.
        pragma.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous={(_fullSync ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=5000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public Task WriteAsync(StateWrites writes)
    {
        if (writes.IsEmpty)
        {
            return Task.CompletedTask;
        }

        // Captured now, while the caller holds the records' lock: the rows are what memory is at this point of its order.
        var rows = new RowSet();
        rows.Clusters.AddRange(writes.Clusters.Select(StoredForm.ToRow));
        rows.TaskDefinitions.AddRange(writes.TaskDefinitions.Select(StoredForm.ToRow));
        rows.Instances.AddRange(writes.Instances.Select(StoredForm.ToRow));
        rows.Tasks.AddRange(writes.Tasks.Select(StoredForm.ToRow));
        rows.Services.AddRange(writes.Services.Select(StoredForm.ToRow));
        rows.LoadBalancing.AddRange(writes.LoadBalancing.Select(StoredForm.ToRow));
        rows.LoadBalancingDeleted.AddRange(writes.LoadBalancingDeleted);
        rows.ScalableTargets.AddRange(writes.ScalableTargets.Select(StoredScaling.ToRow));
        rows.ScalableTargetsDeleted.AddRange(writes.ScalableTargetsDeleted);
        rows.SecurityGroups.AddRange(writes.SecurityGroups.Select(StoredSecurityGroups.ToRow));
        rows.SecurityGroupsDeleted.AddRange(writes.SecurityGroupsDeleted);
        rows.HostGroups.AddRange(writes.HostGroups.Select(StoredHostGroups.ToRow));
        rows.HostGroupsDeleted.AddRange(writes.HostGroupsDeleted);
        rows.CapacityProviders.AddRange(writes.CapacityProviders.Select(StoredCapacityProviders.ToRow));
        rows.CapacityProvidersDeleted.AddRange(writes.CapacityProvidersDeleted);
        rows.Certificates.AddRange(writes.Certificates.Select(StoredCertificates.ToRow));
        rows.CertificatesDeleted.AddRange(writes.CertificatesDeleted);
        return Enqueue(new PendingWork(rows, null));
    }

    /// <summary>Writes rows as they are (tests and benchmarks that build a database without a kernel).</summary>
    internal Task WriteRowsAsync(RowSet rows) => Enqueue(new PendingWork(rows, null));

    public async Task<int> DeleteEndedAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        var work = new PendingWork(null, new EndedDelete(before.ToUnixTimeMilliseconds(), limit));
        await Enqueue(work).WaitAsync(cancellationToken);
        return work.Deleted;
    }

    private Task Enqueue(PendingWork work)
    {
        // Not cancellable once queued: a caller that gives up must not leave the memory model and the database
        // disagreeing about whether the change happened.
        if (!_work.Writer.TryWrite(work))
        {
            ObjectDisposedException.ThrowIf(true, this);
        }

        return work.Completion.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWork>();
        var reader = _work.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            var hasDelete = false;
            while (batch.Count < MaxBatchCommits && reader.TryPeek(out var next))
            {
                // A retention delete rides on the group commit instead of paying a commit (an fsync) of its own: on a
                // slow disk a transaction of its own per batch let the deletes fall behind the writes. One per transaction.
                if (next.Delete is not null && hasDelete)
                {
                    break;
                }

                reader.TryRead(out next);
                batch.Add(next!);
                hasDelete |= next!.Delete is not null;
            }

            try
            {
                WriteBatch(batch);

                foreach (var work in batch)
                {
                    work.Completion.TrySetResult();
                }
            }
            catch (Exception e)
            {
                Log.CommitFailed(_logger, batch.Count, e);
                foreach (var work in batch)
                {
                    work.Completion.TrySetException(e);
                }
            }
        }
    }

    private void WriteBatch(List<PendingWork> batch)
    {
        var connection = _writer!;
        using var transaction = connection.BeginTransaction();
        using var statements = new Statements(connection, transaction);
        var taskRows = 0;
        PendingWork? delete = null;
        foreach (var work in batch)
        {
            if (work.Rows is not { } rows)
            {
                delete = work;
                continue;
            }

            taskRows += rows.Tasks.Count;
            foreach (var row in rows.Clusters)
            {
                statements.Write(row);
            }

            foreach (var row in rows.TaskDefinitions)
            {
                statements.Write(row);
            }

            foreach (var row in rows.Instances)
            {
                statements.Write(row);
            }

            foreach (var row in rows.Tasks)
            {
                statements.Write(row);
            }

            foreach (var row in rows.Services)
            {
                statements.Write(row);
            }

            foreach (var row in rows.LoadBalancing)
            {
                statements.Write(row);
            }

            foreach (var arn in rows.LoadBalancingDeleted)
            {
                statements.DeleteLoadBalancing(arn);
            }

            foreach (var row in rows.ScalableTargets)
            {
                statements.Write(row);
            }

            foreach (var (cluster, service) in rows.ScalableTargetsDeleted)
            {
                statements.DeleteScalableTarget(cluster, service);
            }

            foreach (var row in rows.SecurityGroups)
            {
                statements.Write(row);
            }

            foreach (var row in rows.HostGroups)
            {
                statements.Write(row);
            }

            foreach (var id in rows.SecurityGroupsDeleted)
            {
                statements.DeleteSecurityGroup(id);
            }

            foreach (var (cluster, name) in rows.HostGroupsDeleted)
            {
                statements.DeleteHostGroup(cluster, name);
            }

            foreach (var row in rows.CapacityProviders)
            {
                statements.Write(row);
            }

            foreach (var (cluster, name) in rows.CapacityProvidersDeleted)
            {
                statements.DeleteCapacityProvider(cluster, name);
            }

            foreach (var row in rows.Certificates)
            {
                statements.Write(row);
            }

            foreach (var arn in rows.CertificatesDeleted)
            {
                statements.DeleteCertificate(arn);
            }
        }

        if (delete is not null)
        {
            // As many ended rows as this transaction writes task rows, at least the caller's limit: while a backlog
            // lasts, each commit removes more than it adds, and a delete costs a commit no more than its own writes do.
            delete.Deleted = DeleteEnded(connection, transaction, delete.Delete!.BeforeMs, Math.Max(delete.Delete.Limit, taskRows));
        }

        transaction.Commit();
    }

    private static int DeleteEnded(SqliteConnection connection, SqliteTransaction transaction, long beforeMs, int limit)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$before", beforeMs);
        command.Parameters.AddWithValue("$limit", limit);
        command.CommandText = "DELETE FROM tasks WHERE Id IN (SELECT Id FROM tasks WHERE StoppedAtMs < $before LIMIT $limit)";
        var deleted = command.ExecuteNonQuery();
        command.CommandText = "DELETE FROM services WHERE rowid IN (SELECT rowid FROM services WHERE InactiveAtMs < $before LIMIT $limit)";
        deleted += command.ExecuteNonQuery();
        command.CommandText = "DELETE FROM instances WHERE Id IN (SELECT Id FROM instances WHERE DeregisteredAtMs < $before LIMIT $limit)";
        deleted += command.ExecuteNonQuery();
        return deleted;
    }

    public async ValueTask DisposeAsync()
    {
        _work.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop;
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }
    }

    /// <summary>Rows to insert or replace together.</summary>
    internal sealed class RowSet
    {
        public List<ClusterRow> Clusters { get; } = [];

        public List<TaskDefinitionRow> TaskDefinitions { get; } = [];

        public List<InstanceRow> Instances { get; } = [];

        public List<TaskRow> Tasks { get; } = [];

        public List<ServiceRow> Services { get; } = [];

        public List<LoadBalancingRow> LoadBalancing { get; } = [];

        public List<string> LoadBalancingDeleted { get; } = [];

        public List<ScalableTargetRow> ScalableTargets { get; } = [];

        public List<(string Cluster, string Service)> ScalableTargetsDeleted { get; } = [];

        public List<SecurityGroupRow> SecurityGroups { get; } = [];

        public List<string> SecurityGroupsDeleted { get; } = [];

        public List<HostGroupRow> HostGroups { get; } = [];

        public List<(string Cluster, string Name)> HostGroupsDeleted { get; } = [];

        public List<CapacityProviderRow> CapacityProviders { get; } = [];

        public List<(string Cluster, string Name)> CapacityProvidersDeleted { get; } = [];

        public List<CertificateRow> Certificates { get; } = [];

        public List<string> CertificatesDeleted { get; } = [];
    }

    private sealed record EndedDelete(long BeforeMs, int Limit);

    private sealed class PendingWork(RowSet? rows, EndedDelete? delete)
    {
        public RowSet? Rows { get; } = rows;

        public EndedDelete? Delete { get; } = delete;

        public int Deleted { get; set; }

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Prepared upserts, created lazily per transaction.</summary>
    private sealed class Statements(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        private SqliteCommand? _cluster, _definition, _instance, _task, _service, _loadBalancing, _loadBalancingDelete, _scalableTarget, _scalableTargetDelete, _securityGroup, _securityGroupDelete, _hostGroup, _hostGroupDelete, _capacityProvider, _capacityProviderDelete, _certificate, _certificateDelete;

        public void Write(ClusterRow row)
        {
            _cluster ??= Prepare(
                "INSERT INTO clusters (Name, Status, CreatedAtMs, TaskCidr, CapacityProviders) VALUES ($p0, $p1, $p2, $p3, $p4) " +
                "ON CONFLICT(Name) DO UPDATE SET Status = excluded.Status, CreatedAtMs = excluded.CreatedAtMs, TaskCidr = excluded.TaskCidr, CapacityProviders = excluded.CapacityProviders", 5);
            Run(_cluster, row.Name, row.Status, row.CreatedAtMs, row.TaskCidr, row.CapacityProviders);
        }

        public void Write(TaskDefinitionRow row)
        {
            _definition ??= Prepare(
                "INSERT INTO task_definitions (Family, Revision, Status, Json, RegisteredAtMs, DeregisteredAtMs) VALUES ($p0, $p1, $p2, $p3, $p4, $p5) " +
                "ON CONFLICT(Family, Revision) DO UPDATE SET Status = excluded.Status, Json = excluded.Json, DeregisteredAtMs = excluded.DeregisteredAtMs", 6);
            Run(_definition, row.Family, row.Revision, row.Status, row.Json, row.RegisteredAtMs, row.DeregisteredAtMs);
        }

        public void Write(InstanceRow row)
        {
            _instance ??= Prepare(
                "INSERT INTO instances (Id, Cluster, Status, CredentialHash, RegisteredAtMs, DeregisteredAtMs, DesiredSeq, HostFacts, CustomAttributes, TaskSubnet, HostAddress) " +
                "VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10) " +
                "ON CONFLICT(Id) DO UPDATE SET Cluster = excluded.Cluster, Status = excluded.Status, CredentialHash = excluded.CredentialHash, DeregisteredAtMs = excluded.DeregisteredAtMs, " +
                "DesiredSeq = excluded.DesiredSeq, HostFacts = excluded.HostFacts, CustomAttributes = excluded.CustomAttributes, TaskSubnet = excluded.TaskSubnet, HostAddress = excluded.HostAddress", 11);
            Run(_instance, row.Id, row.Cluster, row.Status, row.CredentialHash, row.RegisteredAtMs, row.DeregisteredAtMs, row.DesiredSeq, row.HostFacts, row.CustomAttributes,
                row.TaskSubnet, row.HostAddress);
        }

        public void Write(TaskRow row)
        {
            _task ??= Prepare(
                "INSERT INTO tasks (Id, Cluster, InstanceId, DesiredStatus, LastStatus, DesiredSeq, AgentSequence, ClientToken, Ports, TaskDefinitionArn, GroupName, Cpu, Memory, StoppedAtMs, Details) " +
                "VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14) " +
                // InstanceId changes once: when a task that waited in PROVISIONING is placed.
                "ON CONFLICT(Id) DO UPDATE SET InstanceId = excluded.InstanceId, DesiredStatus = excluded.DesiredStatus, LastStatus = excluded.LastStatus, DesiredSeq = excluded.DesiredSeq, " +
                "AgentSequence = excluded.AgentSequence, Ports = excluded.Ports, StoppedAtMs = excluded.StoppedAtMs, Details = excluded.Details", 15);
            Run(_task, row.Id, row.Cluster, row.InstanceId, row.DesiredStatus, row.LastStatus, row.DesiredSeq, row.AgentSequence, row.ClientToken, row.Ports,
                row.TaskDefinitionArn, row.GroupName, row.Cpu, row.Memory, row.StoppedAtMs, row.Details);
        }

        public void Write(ServiceRow row)
        {
            _service ??= Prepare(
                "INSERT INTO services (Cluster, Name, Status, ClientToken, InactiveAtMs, Document) VALUES ($p0, $p1, $p2, $p3, $p4, $p5) " +
                "ON CONFLICT(Cluster, Name) DO UPDATE SET Status = excluded.Status, ClientToken = excluded.ClientToken, InactiveAtMs = excluded.InactiveAtMs, Document = excluded.Document", 6);
            Run(_service, row.Cluster, row.Name, row.Status, row.ClientToken, row.InactiveAtMs, row.Document);
        }

        public void Write(LoadBalancingRow row)
        {
            _loadBalancing ??= Prepare(
                "INSERT INTO load_balancing (Arn, Cluster, Kind, Document) VALUES ($p0, $p1, $p2, $p3) " +
                "ON CONFLICT(Arn) DO UPDATE SET Cluster = excluded.Cluster, Kind = excluded.Kind, Document = excluded.Document", 4);
            Run(_loadBalancing, row.Arn, row.Cluster, row.Kind, row.Document);
        }

        public void DeleteLoadBalancing(string arn)
        {
            _loadBalancingDelete ??= Prepare("DELETE FROM load_balancing WHERE Arn = $p0", 1);
            Run(_loadBalancingDelete, arn);
        }

        public void Write(ScalableTargetRow row)
        {
            _scalableTarget ??= Prepare(
                "INSERT INTO scalable_targets (Cluster, ServiceName, Document) VALUES ($p0, $p1, $p2) " +
                "ON CONFLICT(Cluster, ServiceName) DO UPDATE SET Document = excluded.Document", 3);
            Run(_scalableTarget, row.Cluster, row.ServiceName, row.Document);
        }

        public void DeleteScalableTarget(string cluster, string service)
        {
            _scalableTargetDelete ??= Prepare("DELETE FROM scalable_targets WHERE Cluster = $p0 AND ServiceName = $p1", 2);
            Run(_scalableTargetDelete, cluster, service);
        }

        public void Write(SecurityGroupRow row)
        {
            _securityGroup ??= Prepare(
                "INSERT INTO security_groups (Id, Cluster, Name, Document) VALUES ($p0, $p1, $p2, $p3) " +
                "ON CONFLICT(Id) DO UPDATE SET Document = excluded.Document", 4);
            Run(_securityGroup, row.Id, row.Cluster, row.Name, row.Document);
        }

        public void DeleteSecurityGroup(string id)
        {
            _securityGroupDelete ??= Prepare("DELETE FROM security_groups WHERE Id = $p0", 1);
            Run(_securityGroupDelete, id);
        }

        public void Write(HostGroupRow row)
        {
            _hostGroup ??= Prepare(
                "INSERT INTO host_groups (Cluster, Name, Document) VALUES ($p0, $p1, $p2) " +
                "ON CONFLICT(Cluster, Name) DO UPDATE SET Document = excluded.Document", 3);
            Run(_hostGroup, row.Cluster, row.Name, row.Document);
        }

        public void Write(CertificateRow row)
        {
            _certificate ??= Prepare(
                "INSERT INTO certificates (Arn, Document) VALUES ($p0, $p1) ON CONFLICT(Arn) DO UPDATE SET Document = excluded.Document", 2);
            Run(_certificate, row.Arn, row.Document);
        }

        public void DeleteCertificate(string arn)
        {
            _certificateDelete ??= Prepare("DELETE FROM certificates WHERE Arn = $p0", 1);
            Run(_certificateDelete, arn);
        }

        public void Write(CapacityProviderRow row)
        {
            _capacityProvider ??= Prepare(
                "INSERT INTO capacity_providers (Cluster, Name, Document) VALUES ($p0, $p1, $p2) " +
                "ON CONFLICT(Cluster, Name) DO UPDATE SET Document = excluded.Document", 3);
            Run(_capacityProvider, row.Cluster, row.Name, row.Document);
        }

        public void DeleteCapacityProvider(string cluster, string name)
        {
            _capacityProviderDelete ??= Prepare("DELETE FROM capacity_providers WHERE Cluster = $p0 AND Name = $p1", 2);
            Run(_capacityProviderDelete, cluster, name);
        }

        public void DeleteHostGroup(string cluster, string name)
        {
            _hostGroupDelete ??= Prepare("DELETE FROM host_groups WHERE Cluster = $p0 AND Name = $p1", 2);
            Run(_hostGroupDelete, cluster, name);
        }

        private SqliteCommand Prepare(string sql, int parameters)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            for (var i = 0; i < parameters; i++)
            {
                command.Parameters.Add(new SqliteParameter("$p" + i, null));
            }

            command.Prepare();
            return command;
        }

        private static void Run(SqliteCommand command, params object?[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _cluster?.Dispose();
            _definition?.Dispose();
            _instance?.Dispose();
            _task?.Dispose();
            _service?.Dispose();
            _loadBalancing?.Dispose();
            _loadBalancingDelete?.Dispose();
            _scalableTarget?.Dispose();
            _scalableTargetDelete?.Dispose();
            _securityGroup?.Dispose();
            _securityGroupDelete?.Dispose();
            _hostGroup?.Dispose();
            _hostGroupDelete?.Dispose();
            _capacityProvider?.Dispose();
            _capacityProviderDelete?.Dispose();
            _certificate?.Dispose();
            _certificateDelete?.Dispose();
        }
    }
}

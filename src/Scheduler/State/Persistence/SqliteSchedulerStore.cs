using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Berth.Scheduler.State.Persistence;

/// <summary>
/// The SQLite store: one file under the data dir, WAL journal, one writer connection fed by a group-commit loop.
/// </summary>
internal sealed partial class SqliteSchedulerStore : ISchedulerStore
{
    // Enough rows per transaction to amortize the commit, few enough that one batch never stalls callers for long.
    private const int MaxBatchCommits = 512;

    private readonly string _connectionString;
    private readonly bool _fullSync;
    private readonly ILogger<SqliteSchedulerStore> _logger;
    private readonly Channel<PendingCommit> _commits = Channel.CreateUnbounded<PendingCommit>(new UnboundedChannelOptions { SingleReader = true });
    private SqliteConnection? _writer;
    private Task? _writerLoop;

    public SqliteSchedulerStore(string databasePath, bool fullSync, ILogger<SqliteSchedulerStore> logger)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString();
        _fullSync = fullSync;
        _logger = logger;
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        _writer = await OpenAsync(cancellationToken);
        // EF Core builds its model and migrations services before it can tell that nothing is pending, which costs a
        // second or two of start-up; when the history table already lists exactly this assembly's migrations the
        // schema is current and there is nothing for it to do.
        if (!await IsSchemaCurrentAsync(_writer, cancellationToken))
        {
            var options = new DbContextOptionsBuilder<SchedulerDbContext>().UseSqlite(_connectionString).Options;
            await using var context = new SchedulerDbContext(options);
            await context.Database.MigrateAsync(cancellationToken);
        }

        _writerLoop = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    /// <summary>The ids of the migrations compiled into this assembly for <see cref="SchedulerDbContext"/>, in order.</summary>
    internal static IReadOnlyList<string> AssemblyMigrations { get; } = typeof(SchedulerDbContext).Assembly.GetTypes()
        .Where(t => t.GetCustomAttribute<DbContextAttribute>()?.ContextType == typeof(SchedulerDbContext))
        .Select(t => t.GetCustomAttribute<MigrationAttribute>()?.Id)
        .OfType<string>()
        .Order(StringComparer.Ordinal)
        .ToList();

    private static async Task<bool> IsSchemaCurrentAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory'";
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            return false;
        }

        command.CommandText = "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId";
        var applied = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetString(0));
            }
        }

        return applied.SequenceEqual(AssemblyMigrations, StringComparer.Ordinal);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
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

    public async Task<IReadOnlyList<ClusterRow>> ReadClustersAsync(CancellationToken cancellationToken)
    {
        var rows = new List<ClusterRow>();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Name, Status, CreatedAtMs FROM clusters";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ClusterRow { Name = reader.GetString(0), Status = reader.GetString(1), CreatedAtMs = reader.GetInt64(2) });
        }

        return rows;
    }

    public async Task<IReadOnlyList<TaskDefinitionRow>> ReadTaskDefinitionsAsync(CancellationToken cancellationToken)
    {
        var rows = new List<TaskDefinitionRow>();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Family, Revision, Status, Json, RegisteredAtMs, DeregisteredAtMs FROM task_definitions ORDER BY Family, Revision";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new TaskDefinitionRow
            {
                Family = reader.GetString(0),
                Revision = reader.GetInt32(1),
                Status = reader.GetString(2),
                Json = reader.GetString(3),
                RegisteredAtMs = reader.GetInt64(4),
                DeregisteredAtMs = reader.IsDBNull(5) ? null : reader.GetInt64(5),
            });
        }

        return rows;
    }

    public async Task<IReadOnlyList<InstanceRow>> ReadInstancesAsync(CancellationToken cancellationToken)
    {
        var rows = new List<InstanceRow>();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Id, Cluster, Status, CredentialHash, RegisteredAtMs, DesiredSeq, Facts, CustomAttributes FROM instances";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new InstanceRow
            {
                Id = reader.GetString(0),
                Cluster = reader.GetString(1),
                Status = reader.GetInt32(2),
                CredentialHash = (byte[])reader.GetValue(3),
                RegisteredAtMs = reader.GetInt64(4),
                DesiredSeq = reader.GetInt64(5),
                Facts = (byte[])reader.GetValue(6),
                CustomAttributes = (byte[])reader.GetValue(7),
            });
        }

        return rows;
    }

    public async Task<IReadOnlyList<ServiceRow>> ReadServicesAsync(CancellationToken cancellationToken)
    {
        var rows = new List<ServiceRow>();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT Cluster, Name, Status, ClientToken, Info FROM services";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ServiceRow
            {
                Cluster = reader.GetString(0),
                Name = reader.GetString(1),
                Status = reader.GetString(2),
                ClientToken = reader.IsDBNull(3) ? null : reader.GetString(3),
                Info = (byte[])reader.GetValue(4),
            });
        }

        return rows;
    }

    public async IAsyncEnumerable<TaskRow> ReadTasksAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        foreach (var row in TaskRowReader.Read(connection, cancellationToken))
        {
            yield return row;
        }
    }

    public Task CommitAsync(ChangeSet changes, CancellationToken cancellationToken)
    {
        if (changes.IsEmpty)
        {
            return Task.CompletedTask;
        }

        // The commit is not cancellable once queued: a caller that gives up must not leave the memory model and the
        // database disagreeing about whether the change happened.
        var pending = new PendingCommit(changes);
        if (!_commits.Writer.TryWrite(pending))
        {
            ObjectDisposedException.ThrowIf(true, this);
        }

        return pending.Completion.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingCommit>();
        var reader = _commits.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatchCommits && reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                WriteBatch(batch);
                foreach (var commit in batch)
                {
                    commit.Completion.TrySetResult();
                }
            }
            catch (Exception e)
            {
                Log.CommitFailed(_logger, batch.Count, e);
                foreach (var commit in batch)
                {
                    commit.Completion.TrySetException(e);
                }
            }
        }
    }

    private void WriteBatch(List<PendingCommit> batch)
    {
        var connection = _writer!;
        using var transaction = connection.BeginTransaction();
        using var statements = new Statements(connection, transaction);
        foreach (var commit in batch)
        {
            var c = commit.Changes;
            foreach (var row in c.Clusters)
            {
                statements.Write(row);
            }

            foreach (var row in c.TaskDefinitions)
            {
                statements.Write(row);
            }

            foreach (var row in c.Instances)
            {
                statements.Write(row);
            }

            foreach (var row in c.Tasks)
            {
                statements.Write(row);
            }

            foreach (var row in c.Services)
            {
                statements.Write(row);
            }
        }

        transaction.Commit();
    }

    public async ValueTask DisposeAsync()
    {
        _commits.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop;
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }
    }

    private sealed class PendingCommit(ChangeSet changes)
    {
        public ChangeSet Changes { get; } = changes;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Prepared upserts, created lazily per transaction.</summary>
    private sealed class Statements(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        private SqliteCommand? _cluster, _definition, _instance, _task, _service;

        public void Write(ClusterRow row)
        {
            _cluster ??= Prepare(
                "INSERT INTO clusters (Name, Status, CreatedAtMs) VALUES ($p0, $p1, $p2) " +
                "ON CONFLICT(Name) DO UPDATE SET Status = excluded.Status, CreatedAtMs = excluded.CreatedAtMs", 3);
            Run(_cluster, row.Name, row.Status, row.CreatedAtMs);
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
                "INSERT INTO instances (Id, Cluster, Status, CredentialHash, RegisteredAtMs, DesiredSeq, Facts, CustomAttributes) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7) " +
                "ON CONFLICT(Id) DO UPDATE SET Cluster = excluded.Cluster, Status = excluded.Status, CredentialHash = excluded.CredentialHash, " +
                "DesiredSeq = excluded.DesiredSeq, Facts = excluded.Facts, CustomAttributes = excluded.CustomAttributes", 8);
            Run(_instance, row.Id, row.Cluster, row.Status, row.CredentialHash, row.RegisteredAtMs, row.DesiredSeq, row.Facts, row.CustomAttributes);
        }

        public void Write(TaskRow row)
        {
            _task ??= Prepare(
                "INSERT INTO tasks (Id, Cluster, InstanceId, DesiredStatus, LastStatus, DesiredSeq, AgentSequence, ClientToken, Ports, Info) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9) " +
                "ON CONFLICT(Id) DO UPDATE SET DesiredStatus = excluded.DesiredStatus, LastStatus = excluded.LastStatus, DesiredSeq = excluded.DesiredSeq, " +
                "AgentSequence = excluded.AgentSequence, Ports = excluded.Ports, Info = excluded.Info", 10);
            Run(_task, row.Id, row.Cluster, row.InstanceId, row.DesiredStatus, row.LastStatus, row.DesiredSeq, row.AgentSequence, row.ClientToken, row.Ports, row.Info);
        }

        public void Write(ServiceRow row)
        {
            _service ??= Prepare(
                "INSERT INTO services (Cluster, Name, Status, ClientToken, Info) VALUES ($p0, $p1, $p2, $p3, $p4) " +
                "ON CONFLICT(Cluster, Name) DO UPDATE SET Status = excluded.Status, ClientToken = excluded.ClientToken, Info = excluded.Info", 5);
            Run(_service, row.Cluster, row.Name, row.Status, row.ClientToken, row.Info);
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
        }
    }
}

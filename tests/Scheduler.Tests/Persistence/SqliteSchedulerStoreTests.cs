using Berth.Scheduler.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Scheduler.Tests.Persistence;

public sealed class SqliteSchedulerStoreTests
{
    [Fact]
    public void AssemblyMigrations_AreTheMigrationsEfCoreKnows()
    {
        // The start-up fast path skips EF's migrator when the history table lists exactly these ids; a list that
        // missed a migration would leave a schema un-upgraded.
        var options = new DbContextOptionsBuilder<SchedulerDbContext>().UseSqlite("Data Source=:memory:").Options;
        using var context = new SchedulerDbContext(options);

        Assert.Equal(context.Database.GetMigrations(), SqliteSchedulerStore.AssemblyMigrations);
        Assert.NotEmpty(SqliteSchedulerStore.AssemblyMigrations);
    }

    [Fact]
    public async Task OpenAsync_OnAnExistingDatabase_KeepsItsRows()
    {
        var directory = Directory.CreateTempSubdirectory("berth-store-");
        try
        {
            var path = Path.Combine(directory.FullName, "scheduler.db");
            await using (var store = new SqliteSchedulerStore(path, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance))
            {
                await store.OpenAsync(CancellationToken.None);
                var rows = new SqliteSchedulerStore.RowSet();
                rows.Clusters.Add(new ClusterRow { Name = "prod", Status = "ACTIVE", CreatedAtMs = 1 });
                await store.WriteRowsAsync(rows);
            }

            // Act: the second start takes the fast path (schema current).
            await using (var store = new SqliteSchedulerStore(path, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance))
            {
                await store.OpenAsync(CancellationToken.None);
                var sink = new RecordingSink();
                await store.LoadAsync(sink, CancellationToken.None);

                Assert.Equal("prod", Assert.Single(sink.Clusters).Name);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DeleteEnded_RidesOnTheGroupCommit_AndRemovesAsManyRowsAsItWrites()
    {
        // On a slow disk each delete in a transaction of its own (one fsync per 500 rows) fell behind 2,000 lifetimes/s
        // (the churn benchmark kept 600,000 rows past their retention): a delete must share the commit of the writes
        // queued with it and remove as many ended rows as that commit writes.
        var directory = Directory.CreateTempSubdirectory("berth-store-");
        try
        {
            var path = Path.Combine(directory.FullName, "scheduler.db");
            await using var store = new SqliteSchedulerStore(path, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance);
            var ended = new SqliteSchedulerStore.RowSet();
            ended.Tasks.AddRange(Enumerable.Range(0, 3_000).Select(i => Row($"ended-{i}", stoppedAtMs: 1_000 + i)));
            var running = new SqliteSchedulerStore.RowSet();
            running.Tasks.AddRange(Enumerable.Range(0, 2_000).Select(i => Row($"running-{i}", stoppedAtMs: null)));

            // Queued before the writer starts, so that the writer finds all three waiting: one group commit.
            var writes = Task.WhenAll(store.WriteRowsAsync(ended), store.WriteRowsAsync(running));
            var deleted = store.DeleteEndedAsync(DateTimeOffset.FromUnixTimeMilliseconds(10_000), limit: 100, CancellationToken.None);
            await store.OpenAsync(CancellationToken.None);
            await writes;

            // 5,000 task rows written in the commit: all 3,000 ended ones may go, not just the limit's 100.
            Assert.Equal(3_000, await deleted);
            await using (var connection = await store.OpenConnectionAsync(CancellationToken.None))
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT count(*), sum(Id LIKE 'running-%') FROM tasks";
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.Equal((2_000L, 2_000L), (reader.GetInt64(0), reader.GetInt64(1)));
            }

            // Alone (nothing else queued), a delete removes its limit.
            var more = new SqliteSchedulerStore.RowSet();
            more.Tasks.AddRange(Enumerable.Range(0, 300).Select(i => Row($"late-{i}", stoppedAtMs: 2_000 + i)));
            await store.WriteRowsAsync(more);
            Assert.Equal(100, await store.DeleteEndedAsync(DateTimeOffset.FromUnixTimeMilliseconds(10_000), limit: 100, CancellationToken.None));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static TaskRow Row(string id, long? stoppedAtMs) =>
        new() { Id = id, Cluster = "prod", InstanceId = "i-1", Ports = "", StoppedAtMs = stoppedAtMs, LastStatus = stoppedAtMs is null ? 2 : 3 };
}

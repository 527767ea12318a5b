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
}

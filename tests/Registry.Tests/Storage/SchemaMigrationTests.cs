using Berth.Registry.Auth.Accounts;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Berth.Registry.Tests.Storage;

/// <summary>
/// The registry applies EF Core's migrations from embedded SQL scripts, without EF Core: the scripts must be exactly
/// what EF Core generates, build exactly the schema <c>Database.Migrate()</c> builds, and agree with it on history.
/// </summary>
public sealed class SchemaMigrationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-migrations-").FullName;

    public static TheoryData<string> Scopes => [SchemaMigrations.Registry, SchemaMigrations.Auth];

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [MemberData(nameof(Scopes))]
    public void EveryEfMigration_HasItsScript_ExactlyAsEfGeneratesIt(string scope)
    {
        using var db = CreateContext(scope, "design.db");
        var migrationIds = db.GetService<IMigrationsAssembly>().Migrations.Keys.Order(StringComparer.Ordinal).ToList();
        var scripts = SchemaMigrations.Scripts(scope);

        Assert.NotEmpty(migrationIds);
        Assert.Equal(migrationIds, scripts.Select(s => s.Id));
        var migrator = db.GetService<IMigrator>();
        string? previous = null;
        foreach (var (id, sql) in scripts)
        {
            var expected = migrator.GenerateScript(previous, id);
            var folder = scope == SchemaMigrations.Registry ? "Storage/Sqlite" : "Auth/Accounts";
            Assert.True(
                Normalize(expected) == Normalize(sql),
                $"src/Registry/{folder}/Migrations/{id}.sql is not what EF Core generates; regenerate it (src/Registry): " +
                $"dotnet ef migrations script {previous ?? "0"} {id} --context {db.GetType().Name} -o {folder}/Migrations/{id}.sql");
            previous = id;
        }
    }

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task Scripts_BuildTheSameSchemaAndHistory_AsEfMigrate(string scope)
    {
        await using (var db = CreateContext(scope, "ef.db"))
        {
            await db.Database.MigrateAsync();
        }

        await using var scripted = await OpenAsync("scripts.db");
        var applied = await SchemaMigrations.ApplyAsync(scripted, scope, CancellationToken.None);

        await using var ef = await OpenAsync("ef.db");
        Assert.Equal(SchemaMigrations.Scripts(scope).Select(s => s.Id), applied);
        Assert.Equal(await SchemaAsync(ef), await SchemaAsync(scripted));
        Assert.Equal(await HistoryAsync(ef), await HistoryAsync(scripted));
    }

    [Theory]
    [MemberData(nameof(Scopes))]
    public async Task ADatabaseMigratedByEf_OrByAnEarlierStart_GetsNothingApplied(string scope)
    {
        await using (var db = CreateContext(scope, "ef.db"))
        {
            await db.Database.MigrateAsync();
        }

        await using var connection = await OpenAsync("ef.db");
        Assert.Empty(await SchemaMigrations.ApplyAsync(connection, scope, CancellationToken.None));
        Assert.Empty(await SchemaMigrations.ApplyAsync(connection, scope, CancellationToken.None));
    }

    /// <summary>
    /// A registry.db written at the schema of the last release before the operations and notification migrations
    /// (ManifestLoadIndex) keeps every row when upgraded, ends with the schema a new database gets, and has what the
    /// garbage collector must review queued (an untagged manifest, a blob no manifest references).
    /// </summary>
    [Fact]
    public async Task ADatabaseAtTheReleasedSchema_WithContent_Upgrades_KeepsItsRows_AndQueuesGcReviews()
    {
        const string released = "20261203173532_ManifestLoadIndex";
        var scripts = SchemaMigrations.Scripts(SchemaMigrations.Registry);
        await using var connection = await OpenAsync("released.db");
        await SchemaMigrations.ApplyAsync(connection, [.. scripts.Where(s => string.CompareOrdinal(s.Id, released) <= 0)], CancellationToken.None);
        await ExecuteAsync(connection, """
            INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ('team/app', '2026-12-01 00:00:00');
            INSERT INTO "Blobs" ("Digest", "Size", "CreatedAt") VALUES ('sha256:layer', 10, '2026-12-01 00:00:00'), ('sha256:orphan', 20, '2026-12-01 00:00:00');
            INSERT INTO "RepositoryBlobs" ("RepositoryId", "Digest", "CreatedAt") VALUES (1, 'sha256:layer', '2026-12-01 00:00:00'), (1, 'sha256:orphan', '2026-12-01 00:00:00');
            INSERT INTO "Manifests" ("RepositoryId", "Digest", "MediaType", "Size", "Content", "CreatedAt")
                VALUES (1, 'sha256:tagged', 'application/vnd.oci.image.manifest.v1+json', 2, X'7B7D', '2026-12-01 00:00:00'),
                       (1, 'sha256:untagged', 'application/vnd.oci.image.manifest.v1+json', 2, X'7B7D', '2026-12-01 00:00:00');
            INSERT INTO "ManifestBlobs" ("ManifestId", "Digest") VALUES (1, 'sha256:layer'), (2, 'sha256:layer');
            INSERT INTO "Tags" ("RepositoryId", "Name", "ManifestId", "UpdatedAt") VALUES (1, 'v1', 1, '2026-12-01 00:00:00');
            INSERT INTO "UploadSessions" ("Id", "Repository", "Algorithm", "CreatedAt", "Monolithic") VALUES ('u1', 'team/app', 'sha256', '2026-12-01 00:00:00', 0);
            """);
        var rowsBefore = await RowCountsAsync(connection);

        var applied = await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None);

        // Both new migrations, operations first (the notification outbox was regenerated to order after it).
        Assert.Equal(scripts.Select(s => s.Id).Where(id => string.CompareOrdinal(id, released) > 0), applied);
        Assert.True(applied.ToList().FindIndex(id => id.EndsWith("_RegistryOperations", StringComparison.Ordinal))
            < applied.ToList().FindIndex(id => id.EndsWith("_NotificationOutbox", StringComparison.Ordinal)));
        Assert.Equal(rowsBefore, await RowCountsAsync(connection));
        Assert.Equal(["2 migration"], await ReadAsync(connection, """SELECT "ManifestId" || ' ' || "Event" FROM "GcManifestReviews";"""));
        Assert.Equal(["sha256:orphan migration"], await ReadAsync(connection, """SELECT "Digest" || ' ' || "Event" FROM "GcBlobReviews";"""));
        Assert.Equal(["0"], await ReadAsync(connection, """SELECT CAST(count(*) AS TEXT) FROM "NotificationEvents";"""));

        await using var fresh = await OpenAsync("fresh.db");
        await SchemaMigrations.ApplyAsync(fresh, SchemaMigrations.Registry, CancellationToken.None);
        Assert.Equal(await SchemaAsync(fresh), await SchemaAsync(connection));
        Assert.Equal(await HistoryAsync(fresh), await HistoryAsync(connection));
    }

    [Fact]
    public async Task ADatabaseFromANewerRegistry_IsRefused_AndLeftAsItWas()
    {
        await using var connection = await OpenAsync("newer.db");
        await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None);
        await ExecuteAsync(connection, """INSERT INTO "__EFMigrationsHistory" VALUES ('29991231000000_FromTheFuture', '99.0.0');""");
        var before = await SchemaAsync(connection);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None));

        Assert.Contains("29991231000000_FromTheFuture", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await SchemaAsync(connection));
    }

    [Fact]
    public async Task AScriptThatFailsHalfway_LeavesNothingBehind_AndTheConnectionUsable()
    {
        await using var connection = await OpenAsync("failing.db");
        await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None);
        await ExecuteAsync(connection, """INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ('kept/repo', '2026-11-26 00:00:00');""");
        var before = await SchemaAsync(connection);
        (string, string)[] broken =
        [
            .. SchemaMigrations.Scripts(SchemaMigrations.Registry),
            ("29991231000000_Broken", """
                BEGIN TRANSACTION;
                CREATE TABLE "Half" ("Id" INTEGER NOT NULL);
                DELETE FROM "Repositories";
                INSERT INTO "NoSuchTable" VALUES (1);
                INSERT INTO "__EFMigrationsHistory" VALUES ('29991231000000_Broken', '10.0.0');
                COMMIT;
                """),
        ];

        await Assert.ThrowsAsync<SqliteException>(() => SchemaMigrations.ApplyAsync(connection, broken, CancellationToken.None));

        Assert.Equal(before, await SchemaAsync(connection));
        using var count = connection.Command("""SELECT count(*) FROM "Repositories";""");
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public void StoredTimes_AreEfCoresDateTimeOffsetToBinary_BothWays()
    {
        var converter = new DateTimeOffsetToBinaryConverter();
        DateTimeOffset[] times =
        [
            new(2026, 11, 26, 16, 21, 30, 123, TimeSpan.Zero),
            new(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(5.5)),
            new(1999, 12, 31, 23, 59, 59, 999, TimeSpan.FromHours(-8)),
            DateTimeOffset.UnixEpoch,
            new DateTimeOffset(2026, 11, 26, 16, 21, 30, TimeSpan.Zero).AddTicks(9_999),
        ];

        foreach (var time in times)
        {
            var stored = (long)converter.ConvertToProvider(time)!;
            Assert.Equal(stored, AuthDatabase.ToStored(time));
            Assert.Equal((DateTimeOffset)converter.ConvertFromProvider(stored)!, AuthDatabase.FromStored(stored));
            Assert.Equal(time.Offset, AuthDatabase.FromStored(stored).Offset);
        }
    }

    private DbContext CreateContext(string scope, string file)
    {
        var connectionString = SqliteConnections.ConnectionString(_dir, file);
        return scope == SchemaMigrations.Registry
            ? new RegistryDbContext(new DbContextOptionsBuilder<RegistryDbContext>().UseSqlite(connectionString).Options)
            : new AuthDbContext(new DbContextOptionsBuilder<AuthDbContext>().UseSqlite(connectionString).Options);
    }

    private Task<SqliteConnection> OpenAsync(string file) =>
        SqliteConnections.OpenAsync(SqliteConnections.ConnectionString(_dir, file), CancellationToken.None);

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    // __EFMigrationsLock is EF Core's lock while Migrate() runs, not part of the schema (the registry's exclusive
    // lock on its data dir keeps two starts from migrating at once).
    private static async Task<List<string>> SchemaAsync(SqliteConnection connection) =>
        await ReadAsync(connection, """
            SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master
            WHERE name NOT LIKE 'sqlite_%' AND name <> '__EFMigrationsLock' ORDER BY type, name;
            """);

    private static async Task<List<string>> RowCountsAsync(SqliteConnection connection) =>
        await ReadAsync(connection, """
            SELECT 'Repositories ' || (SELECT count(*) FROM "Repositories") UNION ALL
            SELECT 'Blobs ' || (SELECT count(*) FROM "Blobs") UNION ALL
            SELECT 'RepositoryBlobs ' || (SELECT count(*) FROM "RepositoryBlobs") UNION ALL
            SELECT 'Manifests ' || (SELECT count(*) FROM "Manifests") UNION ALL
            SELECT 'ManifestBlobs ' || (SELECT count(*) FROM "ManifestBlobs") UNION ALL
            SELECT 'Tags ' || (SELECT count(*) FROM "Tags") UNION ALL
            SELECT 'UploadSessions ' || (SELECT count(*) FROM "UploadSessions");
            """);

    private static async Task<List<string>> HistoryAsync(SqliteConnection connection) =>
        await ReadAsync(connection, """SELECT "MigrationId" FROM "__EFMigrationsHistory" ORDER BY "MigrationId";""");

    private static async Task<List<string>> ReadAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.Command(sql);
        using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    // Line endings and the EF Core version on the history row differ by machine and package update, not by schema.
    private static string Normalize(string sql) =>
        System.Text.RegularExpressions.Regex.Replace(sql.Replace("\r\n", "\n", StringComparison.Ordinal).Trim('\uFEFF', '\n', ' '), @"'\d+\.\d+\.\d+[^']*'\);", "'VERSION');");
}

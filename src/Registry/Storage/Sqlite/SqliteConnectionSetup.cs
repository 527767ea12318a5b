using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>Per-connection SQLite settings (pragmas other than journal_mode are not stored in the file).</summary>
internal sealed class SqliteConnectionSetup : DbConnectionInterceptor
{
    // synchronous=NORMAL in WAL mode: a commit survives a crash of the process (kill -9) at any moment;
    // only an OS crash or power loss may lose the last commits. Blob bytes are fsynced before they are committed.
    public const string Pragmas = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // The builder quotes what needs quoting (a data dir may contain ';' or spaces).
    public static string ConnectionString(string dataDir, string fileName = "registry.db") => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDir, fileName),
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public static void Configure(DbContextOptionsBuilder options, string dataDir, string fileName = "registry.db") =>
        options.UseSqlite(ConnectionString(dataDir, fileName)).AddInterceptors(new SqliteConnectionSetup());
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context without starting the registry.</summary>
internal sealed class DesignTimeRegistryDbContextFactory : IDesignTimeDbContextFactory<RegistryDbContext>
{
    public RegistryDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<RegistryDbContext>();
        SqliteConnectionSetup.Configure(options, Path.GetTempPath());
        return new RegistryDbContext(options.Options);
    }
}

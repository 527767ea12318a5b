using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// EF Core's side of the SQLite files: the same per-connection pragmas as <see cref="SqliteConnections"/>, for the
/// DbContexts that <c>dotnet ef</c> and the tests use. The registry itself reads and writes without EF Core.
/// </summary>
internal sealed class SqliteConnectionSetup : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = SqliteConnections.Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = SqliteConnections.Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static void Configure(DbContextOptionsBuilder options, string dataDir, string fileName = "registry.db") =>
        options.UseSqlite(SqliteConnections.ConnectionString(dataDir, fileName)).AddInterceptors(new SqliteConnectionSetup());
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

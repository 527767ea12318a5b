using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// How the registry opens its SQLite files at run time: plain Microsoft.Data.Sqlite, no EF Core. EF Core owns the
/// schema (the DbContexts and their migrations), but loading it costs the process ~10-15 MiB of code and JIT output
/// that the request path never needs (docs/benchmarks.md, "Registry memory").
/// </summary>
internal static class SqliteConnections
{
    // synchronous=NORMAL in WAL mode: a commit survives a crash of the process (kill -9) at any moment;
    // only an OS crash or power loss may lose the last commits. Blob bytes are fsynced before they are committed.
    // None of these is stored in the file, so every connection sets them.
    public const string Pragmas = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

    // The builder quotes what needs quoting (a data dir may contain ';' or spaces).
    public static string ConnectionString(string dataDir, string fileName) => ConnectionString(Path.Combine(dataDir, fileName));

    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = Pragmas;
            await pragmas.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>WAL lets readers go on while a writer commits. A property of the file: set once, it stays.</summary>
    public static async Task UseWriteAheadLogAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static SqliteCommand Command(this SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}

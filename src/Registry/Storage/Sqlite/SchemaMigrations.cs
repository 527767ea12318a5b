using System.Reflection;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// Applies EF Core's migrations from their SQL scripts, as EF Core recommends for production, instead of
/// <c>Database.Migrate()</c>: same tables, same <c>__EFMigrationsHistory</c> rows, so <c>dotnet ef database update</c>
/// and this agree on what is applied, but the registry process never loads EF Core.
/// </summary>
/// <remarks>
/// Each migration <c>ID</c> has a script <c>Migrations/ID.sql</c> next to its C# file, embedded as
/// <c>migrations.SCOPE.ID.sql</c>: the output of <c>dotnet ef migrations script PREVIOUS ID</c>, which creates the
/// history table if needed and applies the migration and its history row in one transaction. A test regenerates
/// every script from the EF model and fails when one is missing or differs.
/// </remarks>
internal static class SchemaMigrations
{
    public const string Registry = "registry";
    public const string Auth = "auth";

    /// <summary>The scope's migrations, oldest first (ids start with a timestamp, as EF Core orders them).</summary>
    public static IReadOnlyList<(string Id, string Sql)> Scripts(string scope)
    {
        var assembly = typeof(SchemaMigrations).Assembly;
        var prefix = $"migrations.{scope}.";
        return [.. assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => (Id: name[prefix.Length..^".sql".Length], Sql: Read(assembly, name)))
            .OrderBy(script => script.Id, StringComparer.Ordinal)];
    }

    /// <summary>Applies the scope's migrations that the database does not have yet; returns their ids.</summary>
    public static Task<IReadOnlyList<string>> ApplyAsync(SqliteConnection connection, string scope, CancellationToken cancellationToken)
    {
        var scripts = Scripts(scope);
        if (scripts.Count == 0)
        {
            throw new InvalidOperationException($"no migration scripts for '{scope}' are embedded in the registry");
        }

        return ApplyAsync(connection, scripts, cancellationToken);
    }

    /// <summary>Applies those of <paramref name="scripts"/> (oldest first) that the database does not have yet.</summary>
    internal static async Task<IReadOnlyList<string>> ApplyAsync(SqliteConnection connection, IReadOnlyList<(string Id, string Sql)> scripts, CancellationToken cancellationToken)
    {
        var applied = await AppliedAsync(connection, cancellationToken);

        // A database from a newer registry: its schema may not be what this code reads and writes.
        var unknown = applied.Except(scripts.Select(s => s.Id), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"the database {connection.DataSource} has migrations this registry does not know ({string.Join(", ", unknown)}): it was written by a newer version");
        }

        var done = new List<string>();
        foreach (var (id, sql) in scripts)
        {
            if (applied.Contains(id))
            {
                continue;
            }

            using var command = connection.Command(sql);
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch
            {
                // The script's own BEGIN ... COMMIT is left open when a statement fails: undo what it did.
                if (!connection.AutoCommit())
                {
                    using var rollback = connection.Command("ROLLBACK;");
                    rollback.ExecuteNonQuery();
                }

                throw;
            }

            done.Add(id);
        }

        return done;
    }

    private static async Task<HashSet<string>> AppliedAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var applied = new HashSet<string>(StringComparer.Ordinal);
        using (var exists = connection.Command("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory';"))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                return applied;
            }
        }

        using var command = connection.Command("""SELECT "MigrationId" FROM "__EFMigrationsHistory";""");
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied.Add(reader.GetString(0));
        }

        return applied;
    }

    // sqlite3_get_autocommit: false while a transaction is open on the connection.
    private static bool AutoCommit(this SqliteConnection connection) =>
        SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0;

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

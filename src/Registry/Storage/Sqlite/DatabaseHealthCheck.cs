using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// Readiness: the registry's two SQLite files (image metadata, accounts) open and answer a query on a fresh
/// connection. A fresh one, not the registry's own long-lived connection: that one keeps working on a file that was
/// deleted or a disk that went away, and would report ready while no restart could start.
/// </summary>
internal sealed class DatabaseHealthCheck(RegistryDataDirectory layout) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        foreach (var (label, path) in ((string, string)[])[("registry.db", layout.RegistryDatabase), ("auth.db", layout.AuthDatabase)])
        {
            if (await ProblemAsync(path, cancellationToken) is { } problem)
            {
                return HealthCheckResult.Unhealthy($"{label}: {problem}");
            }
        }

        return HealthCheckResult.Healthy("registry.db and auth.db answer");
    }

    private static async Task<string?> ProblemAsync(string path, CancellationToken cancellationToken)
    {
        // ReadWrite, not ReadWriteCreate: a missing file is a failure here, never an empty database made on the spot.
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 5 }.ToString();
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            // Reads the header and the schema: a file that is not a database fails here.
            command.CommandText = "SELECT count(*) FROM sqlite_schema";
            await command.ExecuteScalarAsync(cancellationToken);
            return null;
        }
        catch (SqliteException e)
        {
            return e.Message;
        }
    }
}

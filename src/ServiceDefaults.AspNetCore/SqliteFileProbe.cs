using Microsoft.Data.Sqlite;

namespace Berth.ServiceDefaults.AspNetCore;

/// <summary>
/// Readiness of a SQLite database file, probed on a fresh connection. A fresh one, not the service's own long-lived
/// connection: that one keeps working on a file that was deleted or a disk that went away, and would report ready
/// while no restart could start.
/// </summary>
public static class SqliteFileProbe
{
    /// <summary>Null when the file opens and answers; otherwise SQLite's own words for what is wrong.</summary>
    public static async Task<string?> ProblemAsync(string path, CancellationToken cancellationToken)
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

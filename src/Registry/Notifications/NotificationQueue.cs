using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Notifications;

/// <summary>An event of the outbox, as a sender reads it.</summary>
internal readonly record struct QueuedEvent(long Id, string Action, string Payload);

/// <summary>
/// The notification outbox in the registry's database (<c>NotificationEvents</c>, written by the metadata store in
/// each change's transaction) and each endpoint's cursor (<c>NotificationCursors</c>). Its own connections: a sender
/// reading or advancing never waits for the metadata store's writer lock in the process, only for SQLite's.
/// </summary>
internal sealed class NotificationQueue(RegistryDataDirectory layout, TimeProvider time)
{
    private readonly string _connectionString = SqliteConnections.ConnectionString(layout.RegistryDatabase);

    /// <summary>
    /// Gives every configured endpoint a cursor (a new endpoint starts after the events already queued: it was not
    /// configured when they happened), forgets endpoints no longer configured, and trims what all have received.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> OpenAsync(IReadOnlyCollection<string> endpoints, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.Command("""
            INSERT INTO "NotificationCursors" ("Endpoint", "LastEventId", "UpdatedAt")
            VALUES ($endpoint, COALESCE((SELECT MAX("Id") FROM "NotificationEvents"), 0), $now)
            ON CONFLICT ("Endpoint") DO NOTHING;
            """);
        command.Transaction = transaction;
        var endpoint = command.Parameters.Add("$endpoint", SqliteType.Text);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        foreach (var name in endpoints)
        {
            endpoint.Value = name;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        command.Parameters.Clear();
        command.CommandText = """SELECT "Endpoint", "LastEventId" FROM "NotificationCursors";""";
        var stale = new List<string>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var name = reader.GetString(0);
                if (endpoints.Contains(name))
                {
                    cursors[name] = reader.GetInt64(1);
                }
                else
                {
                    stale.Add(name);
                }
            }
        }

        command.CommandText = """DELETE FROM "NotificationCursors" WHERE "Endpoint" = $endpoint;""";
        endpoint = command.Parameters.Add("$endpoint", SqliteType.Text);
        foreach (var name in stale)
        {
            endpoint.Value = name;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        command.Parameters.Clear();
        command.CommandText = TrimSql;
        await command.ExecuteNonQueryAsync(cancellationToken);
        transaction.Commit();
        return cursors;
    }

    /// <summary>Events after <paramref name="cursor"/>, oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<QueuedEvent>> ReadAsync(long cursor, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.Command("""SELECT "Id", "Action", "Payload" FROM "NotificationEvents" WHERE "Id" > $cursor ORDER BY "Id" LIMIT $limit;""");
        command.Parameters.AddWithValue("$cursor", cursor);
        command.Parameters.AddWithValue("$limit", limit);
        var events = new List<QueuedEvent>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new QueuedEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return events;
    }

    /// <summary>How many events after <paramref name="cursor"/> are of <paramref name="actions"/>.</summary>
    public async Task<long> CountPendingAsync(long cursor, IReadOnlyList<string> actions, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.Command($"""
            SELECT COUNT(*) FROM "NotificationEvents" WHERE "Id" > $cursor AND "Action" IN ({string.Join(", ", actions.Select((_, i) => "$a" + i))});
            """);
        command.Parameters.AddWithValue("$cursor", cursor);
        for (var i = 0; i < actions.Count; i++)
        {
            command.Parameters.AddWithValue("$a" + i, actions[i]);
        }

        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Records that <paramref name="endpoint"/> has received every event up to <paramref name="cursor"/>, and trims.</summary>
    public async Task AdvanceAsync(string endpoint, long cursor, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.Command($"""
            UPDATE "NotificationCursors" SET "LastEventId" = $cursor, "UpdatedAt" = $now WHERE "Endpoint" = $endpoint AND "LastEventId" < $cursor;
            {TrimSql}
            """);
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$cursor", cursor);
        command.Parameters.AddWithValue("$endpoint", endpoint);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
        transaction.Commit();
    }

    /// <summary>A pull event: a pull changes nothing, so it has no transaction to join and is written on its own.</summary>
    public async Task AppendAsync(string action, string payload, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.Command("""INSERT INTO "NotificationEvents" ("Action", "Payload", "CreatedAt") VALUES ($action, $payload, $now);""");
        command.Parameters.AddWithValue("$action", action);
        command.Parameters.AddWithValue("$payload", payload);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // The ADO.NET pool is shared with the read pool (same connection string), whose connections are query_only: a
    // connection it handed back (a host restarted in the same process) must be made writable again.
    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken);
        using var writable = connection.Command("PRAGMA query_only=0;");
        await writable.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    // Events every endpoint has received go; with no endpoint at all (MIN of nothing is NULL) nothing is deleted here,
    // and OpenAsync's cursors decide again at the next start.
    private const string TrimSql = """DELETE FROM "NotificationEvents" WHERE "Id" <= (SELECT MIN("LastEventId") FROM "NotificationCursors");""";
}

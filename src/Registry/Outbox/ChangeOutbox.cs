using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Outbox;

/// <summary>An event of the outbox, as a consumer reads it: <paramref name="Payload"/> is the event's JSON in UTF-8, as stored.</summary>
internal readonly record struct QueuedEvent(long Id, string Action, byte[] Payload);

/// <summary>One reader of the outbox: the names of the cursors it keeps (a notification endpoint each, replication one).</summary>
internal interface IOutboxConsumer
{
    IReadOnlyCollection<string> CursorNames { get; }
}

/// <summary>
/// The registry's durable change outbox (<c>NotificationEvents</c>, written by the metadata store in each change's
/// transaction: <see cref="OutboxJournal"/>) and one cursor per consumer (<c>NotificationCursors</c>): the notification
/// senders (a cursor per endpoint) and replication (one). The tables kept their first user's names. Its own
/// connections: a consumer reading or advancing never waits for the metadata store's writer lock in the process, only
/// for SQLite's.
/// </summary>
internal sealed class ChangeOutbox(RegistryDataDirectory layout, TimeProvider time, IEnumerable<IOutboxConsumer> consumers) : IDisposable
{
    private readonly string _connectionString = SqliteConnections.ConnectionString(layout.RegistryDatabase);
    private readonly SemaphoreSlim _opening = new(1, 1);
    private IReadOnlyDictionary<string, long>? _opened;

    public void Dispose() => _opening.Dispose();

    /// <summary>
    /// The cursors of every consumer, as they were when the outbox was opened: the first caller (a consumer starting)
    /// opens it for all of them at once, since forgetting cursors nobody keeps needs the whole list.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> OpenAsync(CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken);
        try
        {
            return _opened ??= await OpenAsync([.. consumers.SelectMany(c => c.CursorNames).Distinct(StringComparer.Ordinal)], cancellationToken);
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>
    /// Gives every consumer a cursor (a new one starts after the events already queued: it was not there when they
    /// happened), forgets cursors no consumer keeps any more, and trims what all have read.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, long>> OpenAsync(IReadOnlyCollection<string> endpoints, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWritableAsync(cancellationToken);
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
        await using var connection = await OpenWritableAsync(cancellationToken);
        using var command = connection.Command("""SELECT "Id", "Action", "Payload" FROM "NotificationEvents" WHERE "Id" > $cursor ORDER BY "Id" LIMIT $limit;""");
        command.Parameters.AddWithValue("$cursor", cursor);
        command.Parameters.AddWithValue("$limit", limit);
        var events = new List<QueuedEvent>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // The payload's bytes as SQLite holds them (UTF-8 text): no string to transcode again for the POST body.
            events.Add(new QueuedEvent(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2)));
        }

        return events;
    }

    /// <summary>How many events after <paramref name="cursor"/> are of <paramref name="actions"/>.</summary>
    public async Task<long> CountPendingAsync(long cursor, IReadOnlyList<string> actions, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWritableAsync(cancellationToken);
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

    /// <summary>Records that the consumer's cursor <paramref name="endpoint"/> has read every event up to <paramref name="cursor"/>, and trims.</summary>
    public Task AdvanceAsync(string endpoint, long cursor, CancellationToken cancellationToken) =>
        AdvanceAsync(endpoint, cursor, null, cancellationToken);

    /// <summary>
    /// As <see cref="AdvanceAsync(string, long, CancellationToken)"/>, with <paramref name="alsoWrite"/> run in the same
    /// transaction: a consumer that turns events into rows of its own (replication) stores them and its cursor together,
    /// so after a crash it neither loses nor repeats an event.
    /// </summary>
    public async Task AdvanceAsync(string endpoint, long cursor, Func<SqliteConnection, SqliteTransaction, Task>? alsoWrite, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWritableAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        if (alsoWrite is not null)
        {
            await alsoWrite(connection, transaction);
        }

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

    /// <summary>A connection of the outbox's own (writable), for a consumer's reads and writes of its own tables.</summary>
    public Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken) => OpenWritableAsync(cancellationToken);

    /// <summary>
    /// Starts writing events that join no change's transaction (pulls: a pull changes nothing), in one transaction of
    /// their own, chunk by chunk (<see cref="OutboxAppend.InsertAsync"/>), in the order given; nothing is stored
    /// unless <see cref="OutboxAppend.Commit"/> is called.
    /// </summary>
    public async Task<OutboxAppend> BeginAppendAsync(string action, CancellationToken cancellationToken)
    {
        var connection = await OpenWritableAsync(cancellationToken);
        try
        {
            return new OutboxAppend(connection, action, time.GetUtcNow().UtcDateTime);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // The ADO.NET pool is shared with the read pool (same connection string), whose connections are query_only: a
    // connection it handed back (a host restarted in the same process) must be made writable again.
    private async Task<SqliteConnection> OpenWritableAsync(CancellationToken cancellationToken)
    {
        var connection = await SqliteConnections.OpenAsync(_connectionString, cancellationToken);
        using var writable = connection.Command("PRAGMA query_only=0;");
        await writable.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    // Events every consumer has read go; with no consumer at all (MIN of nothing is NULL) nothing is deleted here,
    // and OpenAsync's cursors decide again at the next start.
    private const string TrimSql = """DELETE FROM "NotificationEvents" WHERE "Id" <= (SELECT MIN("LastEventId") FROM "NotificationCursors");""";
}

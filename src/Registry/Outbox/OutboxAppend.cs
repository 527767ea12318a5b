using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Outbox;

/// <summary>
/// One transaction of events appended to the outbox outside any change's transaction (<see cref="ChangeOutbox.BeginAppendAsync"/>):
/// each chunk of <see cref="OutboxPayloads"/> goes in with one statement. The chunk's bytes are bound once, as a blob,
/// and SQLite cuts each event out (<c>substr</c> of the [start, length] pairs) and stores it as TEXT in the database's
/// UTF-8, like the rows a change's transaction writes: one statement and one bind per chunk instead of per event, no
/// string per event, and readers see the same column as ever. <c>ORDER BY key</c> keeps the given order, so the ids
/// (<c>AUTOINCREMENT</c>, assigned as rows are inserted) are in event order.
/// </summary>
internal sealed class OutboxAppend : IAsyncDisposable
{
    private const string InsertSql = """
        INSERT INTO "NotificationEvents" ("Action", "Payload", "CreatedAt")
        SELECT $action, CAST(substr($payloads, json_extract("value", '$[0]') + 1, json_extract("value", '$[1]')) AS TEXT), $now
        FROM json_each($spans) ORDER BY "key";
        """;

    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;
    private readonly SqliteCommand _insert;
    private readonly SqliteParameter _payloads;
    private readonly SqliteParameter _spans;

    internal OutboxAppend(SqliteConnection connection, string action, DateTime now)
    {
        _connection = connection;
        _transaction = connection.BeginTransaction();
        _insert = connection.Command(InsertSql);
        _insert.Transaction = _transaction;
        _insert.Parameters.AddWithValue("$action", action);
        _insert.Parameters.AddWithValue("$now", now);
        _payloads = _insert.Parameters.Add("$payloads", SqliteType.Blob);
        _spans = _insert.Parameters.Add("$spans", SqliteType.Text);
    }

    /// <summary>Events inserted so far.</summary>
    public int Inserted { get; private set; }

    /// <summary>Inserts the chunk's events and empties it for the next chunk.</summary>
    public async Task InsertAsync(OutboxPayloads payloads, CancellationToken cancellationToken)
    {
        if (payloads.Count == 0)
        {
            return;
        }

        try
        {
            var (bytes, spans) = payloads.ForInsert();
            _payloads.Value = bytes;
            _spans.Value = spans;
            var inserted = await _insert.ExecuteNonQueryAsync(cancellationToken);
            if (inserted != payloads.Count)
            {
                throw new InvalidOperationException($"the outbox took {inserted} of {payloads.Count} events");
            }

            Inserted += inserted;
        }
        finally
        {
            // The statement copied the bytes (SQLite binds a blob as transient): the buffer is free again.
            _payloads.Value = DBNull.Value;
            payloads.Clear();
        }
    }

    public void Commit() => _transaction.Commit();

    public async ValueTask DisposeAsync()
    {
        await _insert.DisposeAsync();
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

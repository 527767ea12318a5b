namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// One notification event waiting for delivery: written in the same transaction as the change it describes, so an
/// acknowledged push or delete has its event even after a crash. Ids only grow (AUTOINCREMENT: never reused after the
/// rows below the slowest endpoint's cursor are trimmed), and SQLite commits one writer at a time, so ids are in
/// commit order and a cursor never skips an event that commits later.
/// </summary>
internal sealed class NotificationEventEntity
{
    public long Id { get; set; }

    /// <summary><c>push</c>, <c>delete</c> or <c>pull</c>: endpoints choose which they get.</summary>
    public required string Action { get; set; }

    /// <summary>The event as distribution's envelope carries it (JSON), fixed when the change committed.</summary>
    public required string Payload { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>How far one configured endpoint has received the events (by id).</summary>
internal sealed class NotificationCursorEntity
{
    public required string Endpoint { get; set; }

    public long LastEventId { get; set; }

    public DateTime UpdatedAt { get; set; }
}

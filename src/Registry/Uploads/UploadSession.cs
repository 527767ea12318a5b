using Berth.Registry.Storage;

namespace Berth.Registry.Uploads;

/// <summary>An upload in progress. One request at a time works on it (<see cref="Gate"/>).</summary>
internal sealed class UploadSession(string id, string repository, string algorithm, bool resumable)
{
    public string Id { get; } = id;

    public string Repository { get; } = repository;

    /// <summary>The algorithm hashed while streaming (the client may name another one at PUT; then we rehash).</summary>
    public string Algorithm { get; } = algorithm;

    /// <summary>Whether clients address the session by id (monolithic uploads live within one request).</summary>
    public bool Resumable { get; } = resumable;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Who opened the session (a token's subject or a client address), for the per-client limit.</summary>
    public string? Owner { get; init; }

    /// <summary>Null after a restart until the first request rebuilds it from the file.</summary>
    public UploadCursor? Cursor { get; set; }

    /// <summary>When a request last worked on this upload (for the expiry of abandoned uploads).</summary>
    public DateTimeOffset LastActivity { get; set; }

    /// <summary>Set once the session is committed or cancelled: a request that waited on the gate then sees 404.</summary>
    public bool Closed { get; set; }

    /// <summary>The Range header value: distribution's <c>0-&lt;last byte&gt;</c>, <c>0-0</c> when empty.</summary>
    public static string RangeOf(long offset) => offset > 0 ? $"0-{offset - 1}" : "0-0";
}

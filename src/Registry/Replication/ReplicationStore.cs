using Berth.Registry.Outbox;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Replication;

/// <summary>An image to copy to one destination, as the worker claims it.</summary>
internal sealed record ReplicationJob(long Id, string Repository, string Digest, string Destination, IReadOnlyList<string> Tags, int Attempts, long Version);

/// <summary>An image's replication to one destination, as the admin API shows it.</summary>
internal sealed record ReplicationStatusRecord(string Destination, string Status, string? FailureCode, int Attempts, DateTime? NextAttemptAt, DateTime UpdatedAt);

/// <summary>A push read from the outbox that some rule sends to <paramref name="Destinations"/>.</summary>
internal sealed record ReplicationRequest(string Repository, string Digest, string? Tag, IReadOnlyList<string> Destinations);

/// <summary>
/// Replication's tables (<c>ReplicationConfiguration</c>, <c>ReplicationImages</c>) in plain SQL, on the outbox's
/// connections (never the metadata store's writer: the worker does not hold up pushes in the process).
/// </summary>
internal sealed class ReplicationStore(ChangeOutbox outbox, TimeProvider time)
{
    public const string InProgress = "IN_PROGRESS";
    public const string Complete = "COMPLETE";
    public const string Failed = "FAILED";

    public async Task<string?> LoadConfigurationAsync(CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""SELECT "Document" FROM "ReplicationConfiguration" WHERE "Id" = 1;""");
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task SaveConfigurationAsync(string document, CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""
            INSERT INTO "ReplicationConfiguration" ("Id", "Document", "UpdatedAt") VALUES (1, $document, $now)
            ON CONFLICT ("Id") DO UPDATE SET "Document" = excluded."Document", "UpdatedAt" = excluded."UpdatedAt";
            """);
        command.Parameters.AddWithValue("$document", document);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records pushes to replicate, inside the transaction that moves replication's outbox cursor. A row that exists
    /// (the same image pushed again, or under another tag) is due again at once and remembers the new tag; one that was
    /// complete starts over with only the new tag (the others are at the destination already).
    /// </summary>
    public async Task RecordAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ReplicationRequest> requests)
    {
        using var command = connection.Command("""
            INSERT INTO "ReplicationImages" ("Repository", "Digest", "Destination", "Tags", "Status", "FailureCode", "Attempts", "Version", "NextAttemptAt", "CreatedAt", "UpdatedAt")
            VALUES ($repository, $digest, $destination, $tag, 'IN_PROGRESS', NULL, 0, 1, $now, $now, $now)
            ON CONFLICT ("Repository", "Digest", "Destination") DO UPDATE SET
                "Tags" = CASE
                    WHEN "Status" = 'COMPLETE' THEN excluded."Tags"
                    WHEN instr(char(10) || "Tags" || char(10), char(10) || excluded."Tags" || char(10)) > 0 THEN "Tags"
                    ELSE "Tags" || char(10) || excluded."Tags" END,
                "Attempts" = CASE WHEN "Status" = 'COMPLETE' THEN 0 ELSE "Attempts" END,
                "Status" = 'IN_PROGRESS',
                "Version" = "Version" + 1,
                "NextAttemptAt" = excluded."NextAttemptAt",
                "UpdatedAt" = excluded."UpdatedAt";
            """);
        command.Transaction = transaction;
        var repository = command.Parameters.Add("$repository", SqliteType.Text);
        var digest = command.Parameters.Add("$digest", SqliteType.Text);
        var destination = command.Parameters.Add("$destination", SqliteType.Text);
        var tag = command.Parameters.Add("$tag", SqliteType.Text);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        foreach (var request in requests)
        {
            repository.Value = request.Repository;
            digest.Value = request.Digest;
            tag.Value = request.Tag ?? "";
            foreach (var name in request.Destinations)
            {
                destination.Value = name;
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Rows due at <paramref name="now"/> (not complete, next attempt reached), oldest due first.</summary>
    public async Task<IReadOnlyList<ReplicationJob>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""
            SELECT "Id", "Repository", "Digest", "Destination", "Tags", "Attempts", "Version" FROM "ReplicationImages"
            WHERE "NextAttemptAt" IS NOT NULL AND "NextAttemptAt" <= $now
            ORDER BY "NextAttemptAt" LIMIT $limit;
            """);
        command.Parameters.AddWithValue("$now", now.UtcDateTime);
        command.Parameters.AddWithValue("$limit", limit);
        var jobs = new List<ReplicationJob>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var tags = reader.GetString(4).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            jobs.Add(new ReplicationJob(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), tags, reader.GetInt32(5), reader.GetInt64(6)));
        }

        return jobs;
    }

    /// <summary>When the next row falls due; null when none waits.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""SELECT MIN("NextAttemptAt") FROM "ReplicationImages" WHERE "NextAttemptAt" IS NOT NULL;""");
        return await command.ExecuteScalarAsync(cancellationToken) is string at
            ? new DateTimeOffset(DateTime.SpecifyKind(DateTime.Parse(at, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc))
            : null;
    }

    /// <summary>
    /// The attempt copied everything: COMPLETE, unless a push for the row came in while it ran (its version moved),
    /// in which case the row stays due for that push.
    /// </summary>
    public async Task CompleteAsync(ReplicationJob job, CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""
            UPDATE "ReplicationImages" SET "Attempts" = "Attempts" + 1, "UpdatedAt" = $now,
                "Status" = CASE WHEN "Version" = $version THEN 'COMPLETE' ELSE "Status" END,
                "FailureCode" = CASE WHEN "Version" = $version THEN NULL ELSE "FailureCode" END,
                "NextAttemptAt" = CASE WHEN "Version" = $version THEN NULL ELSE "NextAttemptAt" END
            WHERE "Id" = $id;
            """);
        command.Parameters.AddWithValue("$id", job.Id);
        command.Parameters.AddWithValue("$version", job.Version);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The attempt failed: <paramref name="status"/> with the reason, next attempt at <paramref name="next"/> (null:
    /// never, the failure is final). A push that came in meanwhile keeps the row due now.
    /// </summary>
    public async Task FailAsync(ReplicationJob job, string status, string reason, DateTimeOffset? next, CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""
            UPDATE "ReplicationImages" SET "Attempts" = "Attempts" + 1, "UpdatedAt" = $now, "FailureCode" = $reason,
                "Status" = CASE WHEN "Version" = $version THEN $status ELSE 'IN_PROGRESS' END,
                "NextAttemptAt" = CASE WHEN "Version" = $version THEN $next ELSE "NextAttemptAt" END
            WHERE "Id" = $id;
            """);
        command.Parameters.AddWithValue("$id", job.Id);
        command.Parameters.AddWithValue("$version", job.Version);
        command.Parameters.AddWithValue("$status", status);
        command.Parameters.AddWithValue("$reason", reason.Length > 1000 ? reason[..1000] : reason);
        command.Parameters.AddWithValue("$next", next is { } at ? at.UtcDateTime : DBNull.Value);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The image's status at every destination it was sent to, by destination.</summary>
    public async Task<IReadOnlyList<ReplicationStatusRecord>> StatusesAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await using var connection = await outbox.OpenConnectionAsync(cancellationToken);
        using var command = connection.Command("""
            SELECT "Destination", "Status", "FailureCode", "Attempts", "NextAttemptAt", "UpdatedAt" FROM "ReplicationImages"
            WHERE "Repository" = $repository AND "Digest" = $digest ORDER BY "Destination";
            """);
        command.Parameters.AddWithValue("$repository", repository);
        command.Parameters.AddWithValue("$digest", digest);
        var statuses = new List<ReplicationStatusRecord>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            statuses.Add(new ReplicationStatusRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt32(3),
                reader.IsDBNull(4) ? null : DateTime.SpecifyKind(reader.GetDateTime(4), DateTimeKind.Utc),
                DateTime.SpecifyKind(reader.GetDateTime(5), DateTimeKind.Utc)));
        }

        return statuses;
    }
}

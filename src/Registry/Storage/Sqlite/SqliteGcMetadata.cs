using System.Buffers;
using System.Text;
using System.Text.Json;
using Berth.Registry.Gc;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary><see cref="IGcMetadata"/> on the registry's SQLite database.</summary>
internal sealed class SqliteGcMetadata(SqliteMetadataStore store) : IGcMetadata
{
    // A manifest is garbage when nothing keeps it: no tag, no index of its repository lists it, and it is not a
    // referrer of a manifest that still exists (a referrer goes with its subject, OCI 1.1).
    private const string DanglingManifest = """
        NOT EXISTS (SELECT 1 FROM "Tags" t WHERE t."ManifestId" = m."Id")
        AND NOT EXISTS (SELECT 1 FROM "ManifestChildren" mc JOIN "Manifests" p ON p."Id" = mc."ManifestId"
                        WHERE mc."ChildDigest" = m."Digest" AND p."RepositoryId" = m."RepositoryId")
        AND NOT (m."SubjectDigest" IS NOT NULL AND EXISTS (SELECT 1 FROM "Manifests" s WHERE s."RepositoryId" = m."RepositoryId" AND s."Digest" = m."SubjectDigest"))
        """;

    // On the review's digest (r), so that the check reads indexes only: a blob is still referenced in most reviews, and
    // fetching its row for the size (a random page of "Blobs" each) bought nothing then.
    private const string DanglingBlob = """
        EXISTS (SELECT 1 FROM "Blobs" b WHERE b."Digest" = r."Digest")
        AND NOT EXISTS (SELECT 1 FROM "ManifestBlobs" mb WHERE mb."Digest" = r."Digest")
        """;

    public async Task<IAsyncDisposable> BeginRunAsync(long cacheBytes, long mapBytes, int checkpointPages, CancellationToken cancellationToken)
    {
        var usual = await store.WithWriterAsync(
            connection =>
            {
                using var read = connection.Command("PRAGMA cache_size;");
                var cacheSize = Convert.ToInt64(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                read.CommandText = "PRAGMA wal_autocheckpoint;";
                var checkpoint = Convert.ToInt64(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

                // A negative cache_size is KiB, not pages.
                using var widen = connection.Command($"PRAGMA cache_size=-{cacheBytes / 1024}; PRAGMA mmap_size={mapBytes}; PRAGMA wal_autocheckpoint={checkpointPages};");
                widen.ExecuteNonQuery();
                return (cacheSize, checkpoint);
            },
            cancellationToken);
        return new RunSettings(store, usual.cacheSize, usual.checkpoint);
    }

    public Task<int> StampAsync(DateTime now, int limit, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                // What the manifests leave of the slice goes to the blobs, so that a call stamps a full slice while any
                // entry is left in either queue.
                using var command = Command(connection, transaction, """
                    UPDATE "GcManifestReviews" SET "EventAt" = $now WHERE rowid IN (SELECT rowid FROM "GcManifestReviews" WHERE "EventAt" IS NULL LIMIT $limit);
                    UPDATE "GcBlobReviews" SET "EventAt" = $now WHERE rowid IN (SELECT rowid FROM "GcBlobReviews" WHERE "EventAt" IS NULL LIMIT $limit - changes());
                    """);
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$limit", limit);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);

    public Task<(IReadOnlyList<CollectedManifest> Deleted, int Reviewed)> CollectManifestsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken) =>
        store.WriteAsync<(IReadOnlyList<CollectedManifest>, int)>(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, $"""
                    SELECT r."ManifestId", m."RepositoryId", m."Digest", CASE WHEN m."Id" IS NOT NULL AND {DanglingManifest} THEN 1 ELSE 0 END
                    FROM "GcManifestReviews" r LEFT JOIN "Manifests" m ON m."Id" = r."ManifestId"
                    WHERE r."EventAt" IS NOT NULL AND r."EventAt" <= $cutoff
                    ORDER BY r."EventAt" LIMIT $limit;
                    """);
                command.Parameters.AddWithValue("$cutoff", cutoff);
                command.Parameters.AddWithValue("$limit", limit);
                var reviewed = new List<long>();
                var dangling = new List<(long Id, CollectedManifest Manifest)>();
                using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    while (await rows.ReadAsync(CancellationToken.None))
                    {
                        reviewed.Add(rows.GetInt64(0));
                        if (rows.GetInt32(3) == 1)
                        {
                            dangling.Add((rows.GetInt64(0), new CollectedManifest(rows.GetInt64(1), rows.GetString(2))));
                        }
                    }
                }

                // One statement per table for the whole batch (the ids as a JSON array): per-row statements cost more
                // than the deletes themselves at a million queued items (docs/benchmarks.md, "Garbage collection").
                // Child rows first: the triggers queue the blobs the manifest referenced, the children of an index,
                // and the referrers of a subject, for a later pass. Then the queue entries reviewed and still
                // referenced (or gone already): off the queue until a new event puts them back; entries re-queued by
                // the deletes have EventAt null and stay.
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$dangling", JsonArray(dangling.Select(d => d.Id)));
                command.Parameters.AddWithValue("$reviewed", JsonArray(reviewed));
                command.CommandText = """
                    DELETE FROM "ManifestBlobs" WHERE "ManifestId" IN (SELECT value FROM json_each($dangling));
                    DELETE FROM "ManifestChildren" WHERE "ManifestId" IN (SELECT value FROM json_each($dangling));
                    DELETE FROM "ManifestPulls" WHERE "ManifestId" IN (SELECT value FROM json_each($dangling));
                    DELETE FROM "Manifests" WHERE "Id" IN (SELECT value FROM json_each($dangling));
                    DELETE FROM "GcManifestReviews" WHERE "ManifestId" IN (SELECT value FROM json_each($reviewed)) AND "EventAt" IS NOT NULL;
                    """;
                await command.ExecuteNonQueryAsync(CancellationToken.None);

                return ([.. dangling.Select(d => d.Manifest)], reviewed.Count);
            },
            cancellationToken);

    public Task<(IReadOnlyList<CollectedBlob> Deleted, int Reviewed)> CollectBlobsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken) =>
        store.WriteAsync<(IReadOnlyList<CollectedBlob>, int)>(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, $"""
                    SELECT r."Digest", CASE WHEN {DanglingBlob} THEN 1 ELSE 0 END
                    FROM "GcBlobReviews" r
                    WHERE r."EventAt" IS NOT NULL AND r."EventAt" <= $cutoff
                    ORDER BY r."EventAt" LIMIT $limit;
                    """);
                command.Parameters.AddWithValue("$cutoff", cutoff);
                command.Parameters.AddWithValue("$limit", limit);
                var reviewed = new List<string>();
                var dangling = new List<string>();
                using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    while (await rows.ReadAsync(CancellationToken.None))
                    {
                        var digest = rows.GetString(0);
                        reviewed.Add(digest);
                        if (rows.GetInt32(1) == 1)
                        {
                            dangling.Add(digest);
                        }
                    }
                }

                // The sizes come back from the delete itself, which reads those rows anyway.
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$dangling", JsonArray(dangling));
                command.Parameters.AddWithValue("$reviewed", JsonArray(reviewed));
                command.CommandText = """
                    DELETE FROM "RepositoryBlobs" WHERE "Digest" IN (SELECT value FROM json_each($dangling));
                    DELETE FROM "GcBlobReviews" WHERE "Digest" IN (SELECT value FROM json_each($reviewed));
                    DELETE FROM "Blobs" WHERE "Digest" IN (SELECT value FROM json_each($dangling)) RETURNING "Digest", "Size";
                    """;
                var deleted = new List<CollectedBlob>(dangling.Count);
                using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    do
                    {
                        while (await rows.ReadAsync(CancellationToken.None))
                        {
                            deleted.Add(new CollectedBlob(rows.GetString(0), rows.GetInt64(1)));
                        }
                    }
                    while (await rows.NextResultAsync(CancellationToken.None));
                }

                return (deleted, reviewed.Count);
            },
            cancellationToken);

    public Task<(IReadOnlyList<CollectedManifest> Manifests, IReadOnlyList<CollectedBlob> Blobs)> PreviewAsync(DateTime cutoff, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<(IReadOnlyList<CollectedManifest>, IReadOnlyList<CollectedBlob>)>(reader =>
        {
            using var transaction = reader.Connection.BeginTransaction(deferred: true);
            var manifests = new List<CollectedManifest>();
            using (var command = reader.Connection.Command($"""
                SELECT m."RepositoryId", m."Digest" FROM "GcManifestReviews" r JOIN "Manifests" m ON m."Id" = r."ManifestId"
                WHERE r."EventAt" IS NOT NULL AND r."EventAt" <= $cutoff AND {DanglingManifest};
                """))
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$cutoff", cutoff);
                using var rows = command.ExecuteReader();
                while (rows.Read())
                {
                    manifests.Add(new CollectedManifest(rows.GetInt64(0), rows.GetString(1)));
                }
            }

            var blobs = new List<CollectedBlob>();
            using (var command = reader.Connection.Command($"""
                SELECT b."Digest", b."Size" FROM "GcBlobReviews" r JOIN "Blobs" b ON b."Digest" = r."Digest"
                WHERE r."EventAt" IS NOT NULL AND r."EventAt" <= $cutoff AND {DanglingBlob};
                """))
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$cutoff", cutoff);
                using var rows = command.ExecuteReader();
                while (rows.Read())
                {
                    blobs.Add(new CollectedBlob(rows.GetString(0), rows.GetInt64(1)));
                }
            }

            transaction.Commit();
            return (manifests, blobs);
        }));

    public Task RecordRunAsync(GcRun run, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    INSERT INTO "GcRuns" ("StartedAt", "FinishedAt", "DryRun", "ManifestsDeleted", "BlobsDeleted", "BytesDeleted", "UploadsDeleted", "Error")
                    VALUES ($started, $finished, $dryRun, $manifests, $blobs, $bytes, 0, $error);
                    DELETE FROM "GcRuns" WHERE "Id" <= (SELECT MAX("Id") FROM "GcRuns") - 100;
                    """);
                command.Parameters.AddWithValue("$started", run.StartedAt);
                command.Parameters.AddWithValue("$finished", run.FinishedAt);
                command.Parameters.AddWithValue("$dryRun", run.DryRun);
                command.Parameters.AddWithValue("$manifests", run.ManifestsDeleted);
                command.Parameters.AddWithValue("$blobs", run.BlobsDeleted);
                command.Parameters.AddWithValue("$bytes", run.BytesDeleted);
                command.Parameters.AddWithValue("$error", (object?)run.Error ?? DBNull.Value);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);

    public Task<IReadOnlyList<GcRun>> ListRunsAsync(int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<GcRun>>(store.Read(reader =>
        {
            using var command = reader.Connection.Command("""
                SELECT "StartedAt", "FinishedAt", "DryRun", "ManifestsDeleted", "BlobsDeleted", "BytesDeleted", "Error"
                FROM "GcRuns" ORDER BY "Id" DESC LIMIT $limit;
                """);
            command.Parameters.AddWithValue("$limit", limit);
            var runs = new List<GcRun>();
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                runs.Add(new GcRun(rows.GetDateTime(0), rows.GetDateTime(1), rows.GetBoolean(2), rows.GetInt64(3), rows.GetInt64(4), rows.GetInt64(5), rows.IsDBNull(6) ? null : rows.GetString(6)));
            }

            return runs;
        }));

    private static string JsonArray(IEnumerable<long> values) => JsonArray(json =>
    {
        foreach (var value in values)
        {
            json.WriteNumberValue(value);
        }
    });

    private static string JsonArray(IEnumerable<string> values) => JsonArray(json =>
    {
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }
    });

    private static string JsonArray(Action<Utf8JsonWriter> items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            items(json);
            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Puts the writer's page cache and checkpoint size back, unmaps the file and frees the cache's memory.</summary>
    private sealed class RunSettings(SqliteMetadataStore store, long cacheSize, long checkpointPages) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() =>
            await store.WithWriterAsync(
                connection =>
                {
                    using var narrow = connection.Command($"PRAGMA cache_size={cacheSize}; PRAGMA mmap_size=0; PRAGMA wal_autocheckpoint={checkpointPages}; PRAGMA shrink_memory;");
                    return narrow.ExecuteNonQuery();
                },
                CancellationToken.None);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.Command(sql);
        command.Transaction = transaction;
        return command;
    }
}

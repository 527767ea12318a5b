using Berth.Registry.Gc;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary><see cref="IGcMetadata"/> on the registry's SQLite database.</summary>
internal sealed class SqliteGcMetadata(SqliteMetadataStore store) : IGcMetadata
{
    // Stamping goes in slices so that no single transaction holds the writer for long on a large queue.
    private const int StampSlice = 20_000;

    // A manifest is garbage when nothing keeps it: no tag, no index of its repository lists it, and it is not a
    // referrer of a manifest that still exists (a referrer goes with its subject, OCI 1.1).
    private const string DanglingManifest = """
        NOT EXISTS (SELECT 1 FROM "Tags" t WHERE t."ManifestId" = m."Id")
        AND NOT EXISTS (SELECT 1 FROM "ManifestChildren" mc JOIN "Manifests" p ON p."Id" = mc."ManifestId"
                        WHERE mc."ChildDigest" = m."Digest" AND p."RepositoryId" = m."RepositoryId")
        AND NOT (m."SubjectDigest" IS NOT NULL AND EXISTS (SELECT 1 FROM "Manifests" s WHERE s."RepositoryId" = m."RepositoryId" AND s."Digest" = m."SubjectDigest"))
        """;

    private const string DanglingBlob = """NOT EXISTS (SELECT 1 FROM "ManifestBlobs" mb WHERE mb."Digest" = b."Digest")""";

    public async Task<int> StampAsync(DateTime now, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var table in new[] { "GcManifestReviews", "GcBlobReviews" })
        {
            while (true)
            {
                var stamped = await store.WriteAsync(
                    async (connection, transaction) =>
                    {
                        using var command = Command(connection, transaction, $"""
                            UPDATE "{table}" SET "EventAt" = $now WHERE rowid IN (SELECT rowid FROM "{table}" WHERE "EventAt" IS NULL LIMIT {StampSlice});
                            """);
                        command.Parameters.AddWithValue("$now", now);
                        return await command.ExecuteNonQueryAsync(CancellationToken.None);
                    },
                    cancellationToken);
                total += stamped;
                if (stamped < StampSlice)
                {
                    break;
                }
            }
        }

        return total;
    }

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

                command.Parameters.Clear();
                var id = command.Parameters.Add("$id", SqliteType.Integer);

                // Child rows first: the triggers queue the blobs the manifest referenced, the children of an index,
                // and the referrers of a subject, for a later pass.
                command.CommandText = """
                    DELETE FROM "ManifestBlobs" WHERE "ManifestId" = $id;
                    DELETE FROM "ManifestChildren" WHERE "ManifestId" = $id;
                    DELETE FROM "ManifestPulls" WHERE "ManifestId" = $id;
                    DELETE FROM "Manifests" WHERE "Id" = $id;
                    """;
                foreach (var (manifestId, _) in dangling)
                {
                    id.Value = manifestId;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                // Reviewed and still referenced (or gone already): off the queue until a new event puts it back.
                // Entries re-queued by the deletes above have EventAt null and stay.
                command.CommandText = """DELETE FROM "GcManifestReviews" WHERE "ManifestId" = $id AND "EventAt" IS NOT NULL;""";
                foreach (var manifestId in reviewed)
                {
                    id.Value = manifestId;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                return ([.. dangling.Select(d => d.Manifest)], reviewed.Count);
            },
            cancellationToken);

    public Task<(IReadOnlyList<CollectedBlob> Deleted, int Reviewed)> CollectBlobsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken) =>
        store.WriteAsync<(IReadOnlyList<CollectedBlob>, int)>(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, $"""
                    SELECT r."Digest", b."Size", CASE WHEN b."Digest" IS NOT NULL AND {DanglingBlob} THEN 1 ELSE 0 END
                    FROM "GcBlobReviews" r LEFT JOIN "Blobs" b ON b."Digest" = r."Digest"
                    WHERE r."EventAt" IS NOT NULL AND r."EventAt" <= $cutoff
                    ORDER BY r."EventAt" LIMIT $limit;
                    """);
                command.Parameters.AddWithValue("$cutoff", cutoff);
                command.Parameters.AddWithValue("$limit", limit);
                var reviewed = new List<string>();
                var dangling = new List<CollectedBlob>();
                using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    while (await rows.ReadAsync(CancellationToken.None))
                    {
                        reviewed.Add(rows.GetString(0));
                        if (rows.GetInt32(2) == 1)
                        {
                            dangling.Add(new CollectedBlob(rows.GetString(0), rows.GetInt64(1)));
                        }
                    }
                }

                command.Parameters.Clear();
                var digest = command.Parameters.Add("$digest", SqliteType.Text);
                command.CommandText = """
                    DELETE FROM "RepositoryBlobs" WHERE "Digest" = $digest;
                    DELETE FROM "Blobs" WHERE "Digest" = $digest;
                    """;
                foreach (var blob in dangling)
                {
                    digest.Value = blob.Digest;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                command.CommandText = """DELETE FROM "GcBlobReviews" WHERE "Digest" = $digest;""";
                foreach (var reviewedDigest in reviewed)
                {
                    digest.Value = reviewedDigest;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                return (dangling, reviewed.Count);
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

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.Command(sql);
        command.Transaction = transaction;
        return command;
    }
}

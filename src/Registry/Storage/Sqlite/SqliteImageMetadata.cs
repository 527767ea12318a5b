using Berth.Registry.Images;

namespace Berth.Registry.Storage.Sqlite;

/// <summary><see cref="IImageMetadata"/> on the registry's SQLite database.</summary>
internal sealed class SqliteImageMetadata(SqliteMetadataStore store) : IImageMetadata
{
    // The size ECR reports: the compressed bytes the image references (config and layers), each blob once; for an
    // index, the blobs of its child manifests (of the same repository) with its own.
    private const string ImagesSql = """
        SELECT m."Id", m."Digest", m."MediaType", m."ArtifactType", m."CreatedAt", p."LastPulledAt",
            (SELECT COALESCE(SUM(b."Size"), 0) FROM "Blobs" b WHERE b."Digest" IN (
                SELECT mb."Digest" FROM "ManifestBlobs" mb WHERE mb."ManifestId" = m."Id"
                UNION
                SELECT mb."Digest" FROM "ManifestChildren" mc
                JOIN "Manifests" c ON c."RepositoryId" = m."RepositoryId" AND c."Digest" = mc."ChildDigest"
                JOIN "ManifestBlobs" mb ON mb."ManifestId" = c."Id"
                WHERE mc."ManifestId" = m."Id"))
        FROM "Manifests" m LEFT JOIN "ManifestPulls" p ON p."ManifestId" = m."Id"
        WHERE m."RepositoryId" = $repository
        ORDER BY m."CreatedAt" DESC, m."Id" DESC;
        """;

    public Task<IReadOnlyList<ImageRecord>?> ListImagesAsync(string repository, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read<IReadOnlyList<ImageRecord>?>(reader =>
        {
            using var find = reader.Connection.Command("""SELECT "Id" FROM "Repositories" WHERE "Name" = $name;""");
            find.Parameters.AddWithValue("$name", repository);
            if (find.ExecuteScalar() is not long id)
            {
                return null;
            }

            // One read transaction: tags and manifests from the same state.
            using var transaction = reader.Connection.BeginTransaction(deferred: true);
            var tags = new Dictionary<long, List<string>>();
            using (var command = reader.Connection.Command("""SELECT "ManifestId", "Name" FROM "Tags" WHERE "RepositoryId" = $repository ORDER BY "Name";"""))
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$repository", id);
                using var rows = command.ExecuteReader();
                while (rows.Read())
                {
                    if (!tags.TryGetValue(rows.GetInt64(0), out var list))
                    {
                        tags[rows.GetInt64(0)] = list = [];
                    }

                    list.Add(rows.GetString(1));
                }
            }

            var images = new List<ImageRecord>();
            using (var command = reader.Connection.Command(ImagesSql))
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$repository", id);
                using var rows = command.ExecuteReader();
                while (rows.Read())
                {
                    images.Add(new ImageRecord(
                        rows.GetString(1),
                        tags.TryGetValue(rows.GetInt64(0), out var names) ? names : [],
                        rows.GetInt64(6),
                        rows.GetDateTime(4),
                        rows.IsDBNull(5) ? null : rows.GetDateTime(5),
                        rows.GetString(2),
                        rows.IsDBNull(3) ? null : rows.GetString(3)));
                }
            }

            transaction.Commit();
            return images;
        }));

    public Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = connection.Command("""
                    INSERT INTO "ManifestPulls" ("ManifestId", "LastPulledAt")
                        SELECT "Id", $at FROM "Manifests" WHERE "RepositoryId" = $repository AND "Digest" = $digest
                    ON CONFLICT ("ManifestId") DO UPDATE SET "LastPulledAt" = max("LastPulledAt", excluded."LastPulledAt");
                    """);
                command.Transaction = transaction;
                var repository = command.Parameters.Add("$repository", Microsoft.Data.Sqlite.SqliteType.Integer);
                var digest = command.Parameters.Add("$digest", Microsoft.Data.Sqlite.SqliteType.Text);
                var at = command.Parameters.Add("$at", Microsoft.Data.Sqlite.SqliteType.Text);
                foreach (var pull in pulls)
                {
                    repository.Value = pull.RepositoryId;
                    digest.Value = pull.Digest;
                    at.Value = pull.PulledAt;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                return pulls.Count;
            },
            cancellationToken);
}

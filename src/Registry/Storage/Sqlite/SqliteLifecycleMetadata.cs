using Berth.Registry.Lifecycle;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary><see cref="ILifecycleMetadata"/> on the registry's SQLite database (the policy lives in <c>RepositorySettings</c>).</summary>
internal sealed class SqliteLifecycleMetadata(SqliteMetadataStore store) : ILifecycleMetadata
{
    private const string PolicySelect = """
        SELECT r."Id", r."Name", s."LifecyclePolicy", s."LifecyclePolicyUpdatedAt", s."LifecyclePolicyEvaluatedAt"
        FROM "RepositorySettings" s JOIN "Repositories" r ON r."Id" = s."RepositoryId"
        WHERE s."LifecyclePolicy" IS NOT NULL
        """;

    // Index children and referrers of a manifest that exists are not images of their own here (see LifecycleImage).
    private const string ImagesSql = """
        SELECT m."Id", m."Digest", m."CreatedAt", p."LastPulledAt", t."Name"
        FROM "Manifests" m
        LEFT JOIN "ManifestPulls" p ON p."ManifestId" = m."Id"
        LEFT JOIN "Tags" t ON t."ManifestId" = m."Id"
        WHERE m."RepositoryId" = $repository
          AND NOT EXISTS (SELECT 1 FROM "ManifestChildren" mc JOIN "Manifests" i ON i."Id" = mc."ManifestId"
                          WHERE i."RepositoryId" = m."RepositoryId" AND mc."ChildDigest" = m."Digest")
          AND NOT (m."SubjectDigest" IS NOT NULL AND EXISTS (
                          SELECT 1 FROM "Manifests" s WHERE s."RepositoryId" = m."RepositoryId" AND s."Digest" = m."SubjectDigest"))
        ORDER BY m."Id", t."Name";
        """;

    public Task<StoredLifecyclePolicy?> GetPolicyAsync(string repository, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(reader =>
        {
            using var command = reader.Connection.Command($"""{PolicySelect} AND r."Name" = $name;""");
            command.Parameters.AddWithValue("$name", repository);
            return ReadPolicies(command).FirstOrDefault();
        }));

    public Task<IReadOnlyList<StoredLifecyclePolicy>> ListPoliciesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredLifecyclePolicy>>(store.Read(reader =>
        {
            using var command = reader.Connection.Command($"""{PolicySelect} ORDER BY r."Name";""");
            return ReadPolicies(command);
        }));

    public Task<bool> PutPolicyAsync(string repository, string text, DateTime now, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                // A repository without settings gets a row with the default mutability, which the settings keep.
                using var command = Command(connection, transaction, """
                    INSERT INTO "RepositorySettings" ("RepositoryId", "TagMutability", "LifecyclePolicy", "LifecyclePolicyUpdatedAt")
                        SELECT "Id", 'MUTABLE', $text, $now FROM "Repositories" WHERE "Name" = $name
                    ON CONFLICT ("RepositoryId") DO UPDATE SET "LifecyclePolicy" = excluded."LifecyclePolicy",
                        "LifecyclePolicyUpdatedAt" = excluded."LifecyclePolicyUpdatedAt", "LifecyclePolicyEvaluatedAt" = NULL;
                    """);
                command.Parameters.AddWithValue("$name", repository);
                command.Parameters.AddWithValue("$text", text);
                command.Parameters.AddWithValue("$now", now);
                return await command.ExecuteNonQueryAsync(CancellationToken.None) > 0;
            },
            cancellationToken);

    public Task<StoredLifecyclePolicy?> DeletePolicyAsync(string repository, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, $"""{PolicySelect} AND r."Name" = $name;""");
                command.Parameters.AddWithValue("$name", repository);
                if (ReadPolicies(command).FirstOrDefault() is not { } policy)
                {
                    return null;
                }

                command.CommandText = """
                    UPDATE "RepositorySettings" SET "LifecyclePolicy" = NULL, "LifecyclePolicyUpdatedAt" = NULL, "LifecyclePolicyEvaluatedAt" = NULL
                    WHERE "RepositoryId" = $id;
                    """;
                command.Parameters.AddWithValue("$id", policy.RepositoryId);
                await command.ExecuteNonQueryAsync(CancellationToken.None);
                return policy;
            },
            cancellationToken);

    public Task<IReadOnlyList<LifecycleImage>> ListImagesAsync(long repositoryId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<LifecycleImage>>(store.Read(reader =>
        {
            using var command = reader.Connection.Command(ImagesSql);
            command.Parameters.AddWithValue("$repository", repositoryId);
            var images = new List<LifecycleImage>();
            using var rows = command.ExecuteReader();
            List<string>? tags = null;
            while (rows.Read())
            {
                var id = rows.GetInt64(0);
                if (images.Count == 0 || images[^1].Id != id)
                {
                    tags = [];
                    images.Add(new LifecycleImage(id, rows.GetString(1), tags, rows.GetDateTime(2), rows.IsDBNull(3) ? null : rows.GetDateTime(3)));
                }

                if (!rows.IsDBNull(4))
                {
                    tags!.Add(rows.GetString(4));
                }
            }

            return images;
        }));

    public Task<IReadOnlyList<ExpiredImage>> ExpireAsync(
        long repositoryId, string repository, long runId, IReadOnlyList<LifecycleExpiry> expiries, DateTime now, CancellationToken cancellationToken) =>
        store.WriteAsync<IReadOnlyList<ExpiredImage>>(
            async (connection, transaction) =>
            {
                var expired = new List<ExpiredImage>();
                using var check = Command(connection, transaction, """
                    SELECT m."Id" FROM "Manifests" m
                    WHERE m."Id" = $id AND m."RepositoryId" = $repository
                      AND NOT EXISTS (SELECT 1 FROM "ManifestChildren" mc JOIN "Manifests" i ON i."Id" = mc."ManifestId"
                                      WHERE i."RepositoryId" = m."RepositoryId" AND mc."ChildDigest" = m."Digest")
                      AND NOT (m."SubjectDigest" IS NOT NULL AND EXISTS (
                                      SELECT 1 FROM "Manifests" s WHERE s."RepositoryId" = m."RepositoryId" AND s."Digest" = m."SubjectDigest"));
                    """);
                var checkId = check.Parameters.Add("$id", SqliteType.Integer);
                check.Parameters.AddWithValue("$repository", repositoryId);
                using var tags = Command(connection, transaction, """SELECT "Name" FROM "Tags" WHERE "ManifestId" = $id ORDER BY "Name";""");
                var tagsId = tags.Parameters.Add("$id", SqliteType.Integer);

                // Explicit, child tables first (as a manifest DELETE does), so the garbage collector's triggers queue the
                // blobs, index children and referrers the image held; the pull time goes by cascade.
                using var delete = Command(connection, transaction, """
                    DELETE FROM "Tags" WHERE "ManifestId" = $id;
                    DELETE FROM "ManifestBlobs" WHERE "ManifestId" = $id;
                    DELETE FROM "ManifestChildren" WHERE "ManifestId" = $id;
                    DELETE FROM "Manifests" WHERE "Id" = $id;
                    INSERT INTO "LifecycleExpirations" ("RunId", "Repository", "Digest", "Tags", "RulePriority", "Reason", "ImagePushedAt", "ExpiredAt")
                    VALUES ($run, $name, $digest, $tags, $priority, $reason, $pushed, $now);
                    """);
                var deleteId = delete.Parameters.Add("$id", SqliteType.Integer);
                var digest = delete.Parameters.Add("$digest", SqliteType.Text);
                var tagList = delete.Parameters.Add("$tags", SqliteType.Text);
                var priority = delete.Parameters.Add("$priority", SqliteType.Integer);
                var reason = delete.Parameters.Add("$reason", SqliteType.Text);
                var pushed = delete.Parameters.Add("$pushed", SqliteType.Text);
                delete.Parameters.AddWithValue("$run", runId);
                delete.Parameters.AddWithValue("$name", repository);
                delete.Parameters.AddWithValue("$now", now);
                foreach (var expiry in expiries)
                {
                    checkId.Value = expiry.Image.Id;
                    if (await check.ExecuteScalarAsync(CancellationToken.None) is not long)
                    {
                        continue;
                    }

                    // A tag moved onto or off the image since it was evaluated: the evaluation no longer holds.
                    tagsId.Value = expiry.Image.Id;
                    var current = new List<string>();
                    using (var rows = await tags.ExecuteReaderAsync(CancellationToken.None))
                    {
                        while (await rows.ReadAsync(CancellationToken.None))
                        {
                            current.Add(rows.GetString(0));
                        }
                    }

                    if (!current.SequenceEqual(expiry.Image.Tags.Order(StringComparer.Ordinal), StringComparer.Ordinal))
                    {
                        continue;
                    }

                    deleteId.Value = expiry.Image.Id;
                    digest.Value = expiry.Image.Digest;
                    tagList.Value = current.Count == 0 ? DBNull.Value : string.Join('\n', current);
                    priority.Value = expiry.Rule.Priority;
                    reason.Value = expiry.Reason;
                    pushed.Value = expiry.Image.PushedAt;
                    await delete.ExecuteNonQueryAsync(CancellationToken.None);

                    // A manifest delete as any other: notification consumers get distribution's delete event, committed
                    // with the delete.
                    store.Journal(transaction, new RegistryChange(ChangeAction.Delete, repository, expiry.Image.Digest, null, 0, null));
                    expired.Add(new ExpiredImage(repository, expiry.Image.Digest, current, expiry.Image.PushedAt, expiry.Rule.Priority, expiry.Reason, now));
                }

                return expired;
            },
            cancellationToken);

    public Task MarkEvaluatedAsync(long repositoryId, DateTime now, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    UPDATE "RepositorySettings" SET "LifecyclePolicyEvaluatedAt" = $now WHERE "RepositoryId" = $id AND "LifecyclePolicy" IS NOT NULL;
                    """);
                command.Parameters.AddWithValue("$id", repositoryId);
                command.Parameters.AddWithValue("$now", now);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);

    public Task<long> StartRunAsync(DateTime startedAt, string trigger, string? repository, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    INSERT INTO "LifecycleRuns" ("StartedAt", "FinishedAt", "Trigger", "Repository", "RepositoriesEvaluated", "ImagesExpired")
                    VALUES ($at, $at, $trigger, $repository, 0, 0) RETURNING "Id";
                    """);
                command.Parameters.AddWithValue("$at", startedAt);
                command.Parameters.AddWithValue("$trigger", trigger);
                command.Parameters.AddWithValue("$repository", (object?)repository ?? DBNull.Value);
                return (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
            },
            cancellationToken);

    public Task FinishRunAsync(long runId, DateTime finishedAt, int repositories, int expired, string? error, int keep, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    UPDATE "LifecycleRuns" SET "FinishedAt" = $at, "RepositoriesEvaluated" = $repositories, "ImagesExpired" = $expired, "Error" = $error
                    WHERE "Id" = $id;
                    DELETE FROM "LifecycleExpirations" WHERE "RunId" IN (SELECT "Id" FROM "LifecycleRuns" ORDER BY "Id" DESC LIMIT -1 OFFSET $keep);
                    DELETE FROM "LifecycleRuns" WHERE "Id" IN (SELECT "Id" FROM "LifecycleRuns" ORDER BY "Id" DESC LIMIT -1 OFFSET $keep);
                    """);
                command.Parameters.AddWithValue("$id", runId);
                command.Parameters.AddWithValue("$at", finishedAt);
                command.Parameters.AddWithValue("$repositories", repositories);
                command.Parameters.AddWithValue("$expired", expired);
                command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
                command.Parameters.AddWithValue("$keep", keep);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);

    public Task<IReadOnlyList<LifecycleRun>> ListRunsAsync(int limit, string? repository, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<LifecycleRun>>(store.Read(reader =>
        {
            using var transaction = reader.Connection.BeginTransaction(deferred: true);
            using var runs = reader.Connection.Command("""
                SELECT "Id", "StartedAt", "FinishedAt", "Trigger", "Repository", "RepositoriesEvaluated", "ImagesExpired", "Error" FROM "LifecycleRuns" r
                WHERE $repository IS NULL OR r."Repository" = $repository
                   OR EXISTS (SELECT 1 FROM "LifecycleExpirations" e WHERE e."RunId" = r."Id" AND e."Repository" = $repository)
                ORDER BY "Id" DESC LIMIT $limit;
                """);
            runs.Transaction = transaction;
            runs.Parameters.AddWithValue("$repository", (object?)repository ?? DBNull.Value);
            runs.Parameters.AddWithValue("$limit", limit);
            var list = new List<LifecycleRun>();
            using (var rows = runs.ExecuteReader())
            {
                while (rows.Read())
                {
                    list.Add(new LifecycleRun(
                        rows.GetInt64(0), rows.GetDateTime(1), rows.GetDateTime(2), rows.GetString(3), rows.IsDBNull(4) ? null : rows.GetString(4),
                        rows.GetInt32(5), rows.GetInt32(6), rows.IsDBNull(7) ? null : rows.GetString(7), []));
                }
            }

            using var expirations = reader.Connection.Command("""
                SELECT "Repository", "Digest", "Tags", "ImagePushedAt", "RulePriority", "Reason", "ExpiredAt" FROM "LifecycleExpirations"
                WHERE "RunId" = $run AND ($repository IS NULL OR "Repository" = $repository) ORDER BY "Id";
                """);
            expirations.Transaction = transaction;
            var run = expirations.Parameters.Add("$run", SqliteType.Integer);
            expirations.Parameters.AddWithValue("$repository", (object?)repository ?? DBNull.Value);
            for (var i = 0; i < list.Count; i++)
            {
                run.Value = list[i].Id;
                var images = new List<ExpiredImage>();
                using (var rows = expirations.ExecuteReader())
                {
                    while (rows.Read())
                    {
                        images.Add(new ExpiredImage(
                            rows.GetString(0), rows.GetString(1), rows.IsDBNull(2) ? [] : rows.GetString(2).Split('\n'), rows.GetDateTime(3), rows.GetInt32(4), rows.GetString(5), rows.GetDateTime(6)));
                    }
                }

                list[i] = list[i] with { Expirations = images };
            }

            transaction.Commit();
            return list;
        }));

    private static List<StoredLifecyclePolicy> ReadPolicies(SqliteCommand command)
    {
        var policies = new List<StoredLifecyclePolicy>();
        using var rows = command.ExecuteReader();
        while (rows.Read())
        {
            policies.Add(new StoredLifecyclePolicy(rows.GetInt64(0), rows.GetString(1), rows.GetString(2), rows.GetDateTime(3), rows.IsDBNull(4) ? null : rows.GetDateTime(4)));
        }

        return policies;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.Command(sql);
        command.Transaction = transaction;
        return command;
    }
}

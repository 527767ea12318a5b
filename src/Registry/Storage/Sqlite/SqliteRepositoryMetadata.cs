using Berth.Registry.Repositories;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary><see cref="IRepositoryMetadata"/> on the registry's SQLite database, through the metadata store's writer and readers.</summary>
internal sealed class SqliteRepositoryMetadata(SqliteMetadataStore store, TimeProvider time) : IRepositoryMetadata
{
    private const string SettingsColumns = """s."Description", s."TagMutability", s."TagMutabilityExclusions" """;

    public Task<IReadOnlyDictionary<string, RepositorySettings>> LoadSettingsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, RepositorySettings>>(store.Read(reader =>
        {
            var settings = new Dictionary<string, RepositorySettings>(StringComparer.Ordinal);
            using var command = reader.Connection.Command($"""
                SELECT r."Name", {SettingsColumns} FROM "RepositorySettings" s JOIN "Repositories" r ON r."Id" = s."RepositoryId";
                """);
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                settings[rows.GetString(0)] = ReadSettings(rows, 1);
            }

            return settings;
        }));

    public Task<IReadOnlyList<CreationTemplate>> ListTemplatesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<CreationTemplate>>(store.Read(reader =>
        {
            var templates = new List<CreationTemplate>();
            using var command = reader.Connection.Command("""
                SELECT "Prefix", "Description", "TagMutability", "TagMutabilityExclusions", "CreateOnPush", "CreatedAt", "UpdatedAt"
                FROM "RepositoryCreationTemplates" s ORDER BY "Prefix";
                """);
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                templates.Add(new CreationTemplate(rows.GetString(0), ReadSettings(rows, 1), rows.GetBoolean(4), rows.GetDateTime(5), rows.GetDateTime(6)));
            }

            return templates;
        }));

    public Task PutTemplateAsync(CreationTemplate template, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    INSERT INTO "RepositoryCreationTemplates" ("Prefix", "Description", "TagMutability", "TagMutabilityExclusions", "CreateOnPush", "CreatedAt", "UpdatedAt")
                    VALUES ($prefix, $description, $mutability, $exclusions, $createOnPush, $now, $now)
                    ON CONFLICT ("Prefix") DO UPDATE SET "Description" = excluded."Description", "TagMutability" = excluded."TagMutability",
                        "TagMutabilityExclusions" = excluded."TagMutabilityExclusions", "CreateOnPush" = excluded."CreateOnPush", "UpdatedAt" = excluded."UpdatedAt";
                    """);
                command.Parameters.AddWithValue("$prefix", template.Prefix);
                command.Parameters.AddWithValue("$createOnPush", template.CreateOnPush);
                command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
                AddSettings(command, template.Settings);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken);

    public async Task<bool> DeleteTemplateAsync(string prefix, CancellationToken cancellationToken) =>
        await store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """DELETE FROM "RepositoryCreationTemplates" WHERE "Prefix" = $prefix;""");
                command.Parameters.AddWithValue("$prefix", prefix);
                return await command.ExecuteNonQueryAsync(CancellationToken.None);
            },
            cancellationToken) > 0;

    public Task<long?> CreateRepositoryAsync(string name, RepositorySettings settings, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """
                    INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ($name, $now) ON CONFLICT ("Name") DO NOTHING RETURNING "Id";
                    """);
                command.Parameters.AddWithValue("$name", name);
                command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
                if (await command.ExecuteScalarAsync(CancellationToken.None) is not long id)
                {
                    return (long?)null;
                }

                await PutSettingsAsync(connection, transaction, id, settings);
                return id;
            },
            cancellationToken);

    public Task<RepositoryRecord?> GetRepositoryAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(store.Read(reader =>
        {
            using var command = reader.Connection.Command(RepositorySelect("""WHERE r."Name" = $name"""));
            command.Parameters.AddWithValue("$name", name);
            return ReadRepositories(command).FirstOrDefault();
        }));

    public Task<IReadOnlyList<RepositoryRecord>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RepositoryRecord>>(store.Read(reader =>
        {
            using var command = reader.Connection.Command(RepositorySelect("""WHERE r."Name" > $last ORDER BY r."Name" LIMIT $limit"""));
            command.Parameters.AddWithValue("$last", last ?? string.Empty);
            command.Parameters.AddWithValue("$limit", limit);
            return ReadRepositories(command);
        }));

    public Task<bool> UpdateSettingsAsync(string name, RepositorySettings settings, CancellationToken cancellationToken) =>
        store.WriteAsync(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """SELECT "Id" FROM "Repositories" WHERE "Name" = $name;""");
                command.Parameters.AddWithValue("$name", name);
                if (await command.ExecuteScalarAsync(CancellationToken.None) is not long id)
                {
                    return false;
                }

                await PutSettingsAsync(connection, transaction, id, settings);
                return true;
            },
            cancellationToken);

    public Task<IReadOnlyList<string>> TagsOfAsync(string repository, string digest, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(store.Read(reader =>
        {
            using var command = reader.Connection.Command("""
                SELECT t."Name" FROM "Tags" t JOIN "Manifests" m ON m."Id" = t."ManifestId" JOIN "Repositories" r ON r."Id" = m."RepositoryId"
                WHERE r."Name" = $repository AND m."Digest" = $digest ORDER BY t."Name";
                """);
            command.Parameters.AddWithValue("$repository", repository);
            command.Parameters.AddWithValue("$digest", digest);
            var tags = new List<string>();
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                tags.Add(rows.GetString(0));
            }

            return tags;
        }));

    public Task<(RepositoryDeletion Result, long Id, IReadOnlyList<RemovedManifest> Manifests)> DeleteRepositoryAsync(string name, bool force, CancellationToken cancellationToken) =>
        store.WriteAsync<(RepositoryDeletion, long, IReadOnlyList<RemovedManifest>)>(
            async (connection, transaction) =>
            {
                using var command = Command(connection, transaction, """SELECT "Id" FROM "Repositories" WHERE "Name" = $name;""");
                command.Parameters.AddWithValue("$name", name);
                if (await command.ExecuteScalarAsync(CancellationToken.None) is not long id)
                {
                    return (RepositoryDeletion.NotFound, 0, []);
                }

                command.Parameters.Clear();
                command.Parameters.AddWithValue("$id", id);
                command.CommandText = """
                    SELECT m."Digest", t."Name" FROM "Manifests" m LEFT JOIN "Tags" t ON t."ManifestId" = m."Id"
                    WHERE m."RepositoryId" = $id ORDER BY m."Id";
                    """;
                var manifests = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    while (await rows.ReadAsync(CancellationToken.None))
                    {
                        if (!manifests.TryGetValue(rows.GetString(0), out var tags))
                        {
                            manifests[rows.GetString(0)] = tags = [];
                        }

                        if (!rows.IsDBNull(1))
                        {
                            tags.Add(rows.GetString(1));
                        }
                    }
                }

                if (manifests.Count > 0 && !force)
                {
                    return (RepositoryDeletion.NotEmpty, id, []);
                }

                // Explicit, child tables first, so the garbage collector's triggers queue what the manifests referenced.
                command.CommandText = """
                    DELETE FROM "Tags" WHERE "RepositoryId" = $id;
                    DELETE FROM "ManifestBlobs" WHERE "ManifestId" IN (SELECT "Id" FROM "Manifests" WHERE "RepositoryId" = $id);
                    DELETE FROM "ManifestChildren" WHERE "ManifestId" IN (SELECT "Id" FROM "Manifests" WHERE "RepositoryId" = $id);
                    DELETE FROM "ManifestPulls" WHERE "ManifestId" IN (SELECT "Id" FROM "Manifests" WHERE "RepositoryId" = $id);
                    DELETE FROM "Manifests" WHERE "RepositoryId" = $id;
                    DELETE FROM "GcManifestReviews" WHERE "RepositoryId" = $id;
                    INSERT INTO "GcBlobReviews" ("Digest", "Event", "EventAt")
                        SELECT "Digest", 'repository_delete', NULL FROM "RepositoryBlobs" WHERE "RepositoryId" = $id
                        ON CONFLICT ("Digest") DO UPDATE SET "Event" = excluded."Event", "EventAt" = NULL;
                    DELETE FROM "RepositoryBlobs" WHERE "RepositoryId" = $id;
                    DELETE FROM "RepositorySettings" WHERE "RepositoryId" = $id;
                    DELETE FROM "Repositories" WHERE "Id" = $id;
                    """;
                await command.ExecuteNonQueryAsync(CancellationToken.None);

                // Notifications (and a replicator reading them) see each image go, as for a manifest delete by digest.
                foreach (var digest in manifests.Keys)
                {
                    store.Journal(transaction, new RegistryChange(ChangeAction.Delete, name, digest, null, 0, null));
                }

                return (RepositoryDeletion.Deleted, id, [.. manifests.Select(m => new RemovedManifest(m.Key, m.Value))]);
            },
            cancellationToken);

    private static string RepositorySelect(string where) => $"""
        SELECT r."Id", r."Name", r."CreatedAt", {SettingsColumns},
            (SELECT COUNT(*) FROM "Manifests" m WHERE m."RepositoryId" = r."Id")
        FROM "Repositories" r LEFT JOIN "RepositorySettings" s ON s."RepositoryId" = r."Id"
        {where};
        """;

    private static List<RepositoryRecord> ReadRepositories(SqliteCommand command)
    {
        var repositories = new List<RepositoryRecord>();
        using var rows = command.ExecuteReader();
        while (rows.Read())
        {
            var settings = rows.IsDBNull(4) ? RepositorySettings.Default : ReadSettings(rows, 3);
            repositories.Add(new RepositoryRecord(rows.GetInt64(0), rows.GetString(1), rows.GetDateTime(2), settings, rows.GetInt32(6)));
        }

        return repositories;
    }

    // Description, mutability, exclusions at ordinal..ordinal+2.
    private static RepositorySettings ReadSettings(SqliteDataReader rows, int ordinal)
    {
        if (!TagMutabilityNames.TryParse(rows.GetString(ordinal + 1), out var mutability))
        {
            throw new InvalidDataException($"the database holds an unknown tag mutability '{rows.GetString(ordinal + 1)}'");
        }

        var exclusions = rows.IsDBNull(ordinal + 2) ? [] : rows.GetString(ordinal + 2).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new RepositorySettings(mutability, exclusions, rows.IsDBNull(ordinal) ? null : rows.GetString(ordinal));
    }

    private static void AddSettings(SqliteCommand command, RepositorySettings settings)
    {
        command.Parameters.AddWithValue("$description", (object?)settings.Description ?? DBNull.Value);
        command.Parameters.AddWithValue("$mutability", TagMutabilityNames.ToName(settings.Mutability));
        command.Parameters.AddWithValue("$exclusions", settings.Exclusions.Count == 0 ? DBNull.Value : string.Join('\n', settings.Exclusions));
    }

    private static async Task PutSettingsAsync(SqliteConnection connection, SqliteTransaction transaction, long id, RepositorySettings settings)
    {
        // The lifecycle policy lives in the same row and is left as it is.
        using var command = Command(connection, transaction, """
            INSERT INTO "RepositorySettings" ("RepositoryId", "Description", "TagMutability", "TagMutabilityExclusions")
            VALUES ($id, $description, $mutability, $exclusions)
            ON CONFLICT ("RepositoryId") DO UPDATE SET "Description" = excluded."Description", "TagMutability" = excluded."TagMutability",
                "TagMutabilityExclusions" = excluded."TagMutabilityExclusions";
            """);
        command.Parameters.AddWithValue("$id", id);
        AddSettings(command, settings);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.Command(sql);
        command.Transaction = transaction;
        return command;
    }
}

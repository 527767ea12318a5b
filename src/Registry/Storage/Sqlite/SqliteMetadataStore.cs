using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// The metadata store on SQLite (WAL), in plain SQL over one dedicated connection: the schema is EF Core's
/// (<see cref="RegistryDbContext"/> and its migrations, applied from their scripts by <see cref="SchemaMigrations"/>),
/// but every statement here is written out, so a push costs one statement batch, without change tracking or LINQ
/// translation, and the process does not load EF Core at all. Writes are serialized by the caller; the connection
/// has its own lock because upload sessions are written outside the caller's.
/// </summary>
internal sealed class SqliteMetadataStore(RegistryDataDirectory layout, TimeProvider time) : IMetadataStore, IDisposable
{
    private const string LinkBlobSql = """
        INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ($repository, $now) ON CONFLICT ("Name") DO NOTHING;
        INSERT INTO "Blobs" ("Digest", "Size", "CreatedAt") VALUES ($digest, $size, $now) ON CONFLICT ("Digest") DO NOTHING;
        INSERT INTO "RepositoryBlobs" ("RepositoryId", "Digest", "CreatedAt")
            SELECT "Id", $digest, $now FROM "Repositories" WHERE "Name" = $repository
            ON CONFLICT ("RepositoryId", "Digest") DO NOTHING;
        DELETE FROM "UploadSessions" WHERE "Id" = $upload;
        SELECT "Id" FROM "Repositories" WHERE "Name" = $repository;
        """;

    private const string CreateUploadSql = """
        INSERT INTO "UploadSessions" ("Id", "Repository", "Algorithm", "CreatedAt") VALUES ($id, $repository, $algorithm, $created);
        """;

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly string _connectionString = SqliteConnections.ConnectionString(layout.RegistryDatabase);
    private SqliteConnection? _connection;

    public void Dispose()
    {
        _connection?.Dispose();
        _lock.Dispose();
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _connection ??= await SqliteConnections.OpenAsync(_connectionString, cancellationToken);
            await SqliteConnections.UseWriteAheadLogAsync(_connection, cancellationToken);
            await SchemaMigrations.ApplyAsync(_connection, SchemaMigrations.Registry, cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<MetadataSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            // One read transaction: the six reads see one state of the database.
            using var transaction = connection.BeginTransaction(deferred: true);
            var repositories = await ReadAsync(transaction, """SELECT "Id", "Name" FROM "Repositories" ORDER BY "Id";""",
                r => (Id: r.GetInt64(0), Name: r.GetString(1)), cancellationToken);
            var links = (await ReadAsync(transaction, """SELECT "RepositoryId", "Digest" FROM "RepositoryBlobs";""",
                r => (RepositoryId: r.GetInt64(0), Digest: r.GetString(1)), cancellationToken)).ToLookup(x => x.RepositoryId, x => x.Digest);
            var manifests = (await ReadAsync(transaction,
                """SELECT "RepositoryId", "Id", "Digest", "MediaType", "ArtifactType", "SubjectDigest", "Content", "CreatedAt" FROM "Manifests" ORDER BY "Id";""",
                r => (RepositoryId: r.GetInt64(0), Record: new ManifestRecord(
                    r.GetInt64(1),
                    r.GetString(2),
                    r.GetString(3),
                    r.IsDBNull(4) ? null : r.GetString(4),
                    r.IsDBNull(5) ? null : r.GetString(5),
                    (byte[])r.GetValue(6),
                    r.GetDateTime(7))), cancellationToken)).ToLookup(x => x.RepositoryId, x => x.Record);
            var tags = (await ReadAsync(transaction, """SELECT "RepositoryId", "Name", "ManifestId" FROM "Tags";""",
                r => (RepositoryId: r.GetInt64(0), Tag: new KeyValuePair<string, long>(r.GetString(1), r.GetInt64(2))), cancellationToken))
                .ToLookup(x => x.RepositoryId, x => x.Tag);
            var blobs = await ReadAsync(transaction, """SELECT "Digest", "Size" FROM "Blobs";""",
                r => new KeyValuePair<string, long>(r.GetString(0), r.GetInt64(1)), cancellationToken);
            var uploads = await ReadAsync(transaction, """SELECT "Id", "Repository", "Algorithm", "CreatedAt" FROM "UploadSessions";""",
                r => new UploadRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetDateTime(3)), cancellationToken);
            transaction.Commit();

            var snapshots = repositories.Select(r => new RepositorySnapshot(
                r.Id,
                r.Name,
                [.. links[r.Id]],
                [.. manifests[r.Id]],
                [.. tags[r.Id]])).ToList();
            return new MetadataSnapshot(snapshots, blobs, uploads);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            using var command = Connection().CreateCommand();
            command.CommandText = CreateUploadSql;
            command.Parameters.AddWithValue("$id", upload.Id);
            command.Parameters.AddWithValue("$repository", upload.Repository);
            command.Parameters.AddWithValue("$algorithm", upload.Algorithm);
            command.Parameters.AddWithValue("$created", upload.CreatedAt);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) =>
        ExecuteAsync("""DELETE FROM "UploadSessions" WHERE "Id" = $upload;""", [("$upload", uploadId)], cancellationToken);

    public async Task<long> LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = LinkBlobSql;
            command.Parameters.AddWithValue("$repository", repository);
            command.Parameters.AddWithValue("$digest", digest);
            command.Parameters.AddWithValue("$size", size);
            command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
            command.Parameters.AddWithValue("$upload", (object?)uploadId ?? DBNull.Value);
            var id = (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
            transaction.Commit();
            return id;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            DELETE FROM "RepositoryBlobs"
            WHERE "Digest" = $digest AND "RepositoryId" = (SELECT "Id" FROM "Repositories" WHERE "Name" = $repository);
            """,
            [("$digest", digest), ("$repository", repository)],
            cancellationToken) > 0;

    public async Task<(long RepositoryId, ManifestRecord Manifest)> PutManifestAsync(
        string repository, NewManifest manifest, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var now = time.GetUtcNow().UtcDateTime;
            var parameters = command.Parameters;
            parameters.AddWithValue("$repository", repository);
            parameters.AddWithValue("$digest", manifest.Digest);
            parameters.AddWithValue("$now", now);
            command.CommandText = """
                INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ($repository, $now) ON CONFLICT ("Name") DO NOTHING;
                SELECT r."Id", m."Id", m."MediaType", m."ArtifactType", m."SubjectDigest", m."Content", m."CreatedAt"
                FROM "Repositories" r LEFT JOIN "Manifests" m ON m."RepositoryId" = r."Id" AND m."Digest" = $digest
                WHERE r."Name" = $repository;
                """;
            long repositoryId;
            ManifestRecord? record = null;
            using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                await reader.ReadAsync(CancellationToken.None);
                repositoryId = reader.GetInt64(0);
                if (!reader.IsDBNull(1))
                {
                    record = new ManifestRecord(
                        reader.GetInt64(1),
                        manifest.Digest,
                        reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4),
                        (byte[])reader.GetValue(5),
                        reader.GetDateTime(6));
                }
            }

            parameters.AddWithValue("$repositoryId", repositoryId);
            if (record is null)
            {
                parameters.AddWithValue("$mediaType", manifest.MediaType);
                parameters.AddWithValue("$artifactType", (object?)manifest.ArtifactType ?? DBNull.Value);
                parameters.AddWithValue("$subject", (object?)manifest.SubjectDigest ?? DBNull.Value);
                parameters.AddWithValue("$size", manifest.Content.Length);
                parameters.AddWithValue("$content", manifest.Content);
                command.CommandText = """
                    INSERT INTO "Manifests" ("RepositoryId", "Digest", "MediaType", "ArtifactType", "SubjectDigest", "Size", "Content", "CreatedAt")
                    VALUES ($repositoryId, $digest, $mediaType, $artifactType, $subject, $size, $content, $now) RETURNING "Id";
                    """;
                var id = (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
                record = new ManifestRecord(id, manifest.Digest, manifest.MediaType, manifest.ArtifactType, manifest.SubjectDigest, manifest.Content, now);
                parameters.AddWithValue("$manifestId", id);
                var reference = parameters.Add("$reference", SqliteType.Text);
                command.CommandText = """INSERT INTO "ManifestBlobs" ("ManifestId", "Digest") VALUES ($manifestId, $reference) ON CONFLICT DO NOTHING;""";
                foreach (var blob in manifest.BlobDigests)
                {
                    reference.Value = blob;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }

                command.CommandText = """INSERT INTO "ManifestChildren" ("ManifestId", "ChildDigest") VALUES ($manifestId, $reference) ON CONFLICT DO NOTHING;""";
                foreach (var child in manifest.ChildDigests)
                {
                    reference.Value = child;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }
            }
            else
            {
                parameters.AddWithValue("$manifestId", record.Id);
            }

            if (tags.Count > 0)
            {
                var tag = parameters.Add("$tag", SqliteType.Text);
                command.CommandText = """
                    INSERT INTO "Tags" ("RepositoryId", "Name", "ManifestId", "UpdatedAt") VALUES ($repositoryId, $tag, $manifestId, $now)
                    ON CONFLICT ("RepositoryId", "Name") DO UPDATE SET "ManifestId" = excluded."ManifestId", "UpdatedAt" = excluded."UpdatedAt";
                    """;
                foreach (var name in tags)
                {
                    tag.Value = name;
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }
            }

            transaction.Commit();
            return (repositoryId, record);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            DELETE FROM "Tags"
            WHERE "Name" = $tag AND "RepositoryId" = (SELECT "Id" FROM "Repositories" WHERE "Name" = $repository);
            """,
            [("$tag", tag), ("$repository", repository)],
            cancellationToken) > 0;

    public async Task<bool> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.Command("""
                SELECT m."Id" FROM "Manifests" m JOIN "Repositories" r ON r."Id" = m."RepositoryId"
                WHERE r."Name" = $repository AND m."Digest" = $digest;
                """);
            command.Transaction = transaction;
            command.Parameters.AddWithValue("$repository", repository);
            command.Parameters.AddWithValue("$digest", digest);
            if (await command.ExecuteScalarAsync(CancellationToken.None) is not long id)
            {
                return false;
            }

            // Explicit rather than relying on SQLite's foreign-key cascade, which depends on a per-connection pragma.
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", id);
            command.CommandText = """
                DELETE FROM "Tags" WHERE "ManifestId" = $id;
                DELETE FROM "ManifestBlobs" WHERE "ManifestId" = $id;
                DELETE FROM "ManifestChildren" WHERE "ManifestId" = $id;
                DELETE FROM "Manifests" WHERE "Id" = $id;
                """;
            await command.ExecuteNonQueryAsync(CancellationToken.None);
            transaction.Commit();
            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    // Opened by InitializeAsync, which migrates the schema first; callers hold _lock.
    private SqliteConnection Connection() =>
        _connection ?? throw new InvalidOperationException("the metadata store is used before InitializeAsync");

    private async Task<int> ExecuteAsync(string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            using var command = Connection().Command(sql);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            // Once the lock is held the write runs to its end: a cancelled caller must not leave half a change.
            return await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            _lock.Release();
        }
    }

    private static async Task<List<T>> ReadAsync<T>(SqliteTransaction transaction, string sql, Func<SqliteDataReader, T> map, CancellationToken cancellationToken)
    {
        using var command = transaction.Connection!.Command(sql);
        command.Transaction = transaction;
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }
}

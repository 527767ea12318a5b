using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// The metadata store on SQLite (WAL), in plain SQL: the schema is EF Core's (<see cref="RegistryDbContext"/> and its
/// migrations, applied from their scripts by <see cref="SchemaMigrations"/>), but every statement here is written
/// out, so a push costs one statement batch, without change tracking or LINQ translation, and the process does not
/// load EF Core at all. Writes go through one connection under its own lock (the caller serializes them too; upload
/// records are written outside the caller's lock); reads on cache misses go through a pool of read-only connections
/// (<see cref="SqliteReadPool"/>). Pushes and deletes also write what <paramref name="journal"/> asks for (the
/// notification outbox) in their own transaction.
/// </summary>
internal sealed class SqliteMetadataStore(RegistryDataDirectory layout, TimeProvider time, IChangeJournal? journal = null) : IMetadataStore, IDisposable
{
    // The payload arrives as UTF-8 bytes and is stored as TEXT, as the outbox's other writer stores it (OutboxAppend).
    private const string JournalSql = """INSERT INTO "NotificationEvents" ("Action", "Payload", "CreatedAt") VALUES ($action, CAST($payload AS TEXT), $now);""";

    private readonly IChangeJournal _journal = journal ?? new NoChangeJournal();

    // Whether the current WriteAsync recorded a change (set by Journal; both run under _lock).
    private bool _journaledInWrite;

    private const string LinkBlobSql = """
        INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ($repository, $now) ON CONFLICT ("Name") DO NOTHING;
        INSERT INTO "Blobs" ("Digest", "Size", "CreatedAt") VALUES ($digest, $size, $now) ON CONFLICT ("Digest") DO NOTHING;
        INSERT INTO "RepositoryBlobs" ("RepositoryId", "Digest", "CreatedAt")
            SELECT "Id", $digest, $now FROM "Repositories" WHERE "Name" = $repository
            ON CONFLICT ("RepositoryId", "Digest") DO NOTHING;
        DELETE FROM "UploadSessions" WHERE "Id" = $upload;
        SELECT "Id" FROM "Repositories" WHERE "Name" = $repository;
        """;

    private const string LinkedBlobSizeSql = """
        SELECT b."Size" FROM "RepositoryBlobs" rb JOIN "Blobs" b ON b."Digest" = rb."Digest"
        WHERE rb."RepositoryId" = $repository AND rb."Digest" = $digest;
        """;

    private const string ManifestContentSql = """SELECT "Content" FROM "Manifests" WHERE "RepositoryId" = $repository AND "Digest" = $digest;""";

    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly string _connectionString = SqliteConnections.ConnectionString(layout.RegistryDatabase);
    private SqliteConnection? _connection;
    private SqliteReadPool? _readers;

    public void Dispose()
    {
        _readers?.Dispose();
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
            _readers ??= new SqliteReadPool(_connectionString);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task LoadIndexAsync(IIndexBuilder index, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            // One read transaction: the three reads see one state of the database.
            using var transaction = connection.BeginTransaction(deferred: true);

            // The counts first (each a walk of a small index's pages: tens of ms for a million rows), so the index
            // and the join arrays below are sized once.
            var counts = new long[3];
            await ForEachAsync(
                transaction,
                """SELECT (SELECT count(*) FROM "Repositories"), (SELECT count(*) FROM "Manifests"), (SELECT count(*) FROM "Tags");""",
                r =>
                {
                    for (var i = 0; i < counts.Length; i++)
                    {
                        counts[i] = r.GetInt64(i);
                    }
                },
                cancellationToken);
            var manifests = (int)counts[1];
            index.Reserve((int)counts[0], manifests, (int)counts[2]);
            await ForEachAsync(transaction, """SELECT "Id", "Name" FROM "Repositories";""", r => index.AddRepository(r.GetInt64(0), r.GetString(1)), cancellationToken);

            // Tags name their manifest by row id: keep (id -> handle) in two plain arrays for the join, sorted by id
            // after the scan (no dictionary of a million entries). The scan reads the covering index, not the rows
            // with their bodies.
            var ids = new List<long>(manifests);
            var handles = new List<int>(manifests);
            await ForEachAsync(
                transaction,
                """SELECT "Id", "RepositoryId", "Digest", "MediaType", "Size" FROM "Manifests" INDEXED BY "IX_Manifests_Index";""",
                r =>
                {
                    ids.Add(r.GetInt64(0));
                    handles.Add(index.AddManifest(r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetInt64(4)));
                },
                cancellationToken);
            CollectionsMarshal.AsSpan(ids).Sort(CollectionsMarshal.AsSpan(handles));
            await ForEachAsync(
                transaction,
                """SELECT "RepositoryId", "Name", "ManifestId" FROM "Tags";""",
                r =>
                {
                    var at = ids.BinarySearch(r.GetInt64(2));
                    if (at >= 0)
                    {
                        index.AddTag(r.GetInt64(0), r.GetString(1), handles[at]);
                    }
                },
                cancellationToken);
            transaction.Commit();
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var uploads = new List<UploadRecord>();
            using var transaction = Connection().BeginTransaction(deferred: true);
            await ForEachAsync(
                transaction,
                """SELECT "Id", "Repository", "Algorithm", "CreatedAt", "Monolithic" FROM "UploadSessions";""",
                r => uploads.Add(new UploadRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetDateTime(3), r.GetBoolean(4))),
                cancellationToken);
            return uploads;
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """INSERT INTO "UploadSessions" ("Id", "Repository", "Algorithm", "CreatedAt", "Monolithic") VALUES ($id, $repository, $algorithm, $created, $monolithic);""",
            [("$id", upload.Id), ("$repository", upload.Repository), ("$algorithm", upload.Algorithm), ("$created", upload.CreatedAt), ("$monolithic", upload.Monolithic)],
            cancellationToken);

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) =>
        ExecuteAsync("""DELETE FROM "UploadSessions" WHERE "Id" = $upload;""", [("$upload", uploadId)], cancellationToken);

    public async Task<long> LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.Command(LinkBlobSql);
            command.Transaction = transaction;
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

    public Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken) =>
        DeleteJournaledAsync("""
            DELETE FROM "RepositoryBlobs"
            WHERE "Digest" = $key AND "RepositoryId" = (SELECT "Id" FROM "Repositories" WHERE "Name" = $repository);
            """, digest, new RegistryChange(ChangeAction.Delete, repository, digest, null, 0, null), cancellationToken);

    public Task<long?> GetLinkedBlobSizeAsync(long repositoryId, string digest, CancellationToken cancellationToken) =>
        Task.FromResult(Readers().Read(reader =>
        {
            var command = reader.Command(LinkedBlobSizeSql, "$repository", "$digest");
            command.Parameters[0].Value = repositoryId;
            command.Parameters[1].Value = digest;
            return command.ExecuteScalar() is long size ? size : (long?)null;
        }));

    public Task<IReadOnlyDictionary<string, long>> GetLinkedBlobSizesAsync(string repository, IReadOnlyCollection<string> digests, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(Readers().Read(reader =>
        {
            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            var command = reader.Command(
                """
                SELECT b."Size" FROM "Repositories" r
                JOIN "RepositoryBlobs" rb ON rb."RepositoryId" = r."Id"
                JOIN "Blobs" b ON b."Digest" = rb."Digest"
                WHERE r."Name" = $repository AND rb."Digest" = $digest;
                """,
                "$repository",
                "$digest");
            command.Parameters[0].Value = repository;
            foreach (var digest in digests)
            {
                command.Parameters[1].Value = digest;
                if (command.ExecuteScalar() is long size)
                {
                    sizes[digest] = size;
                }
            }

            return sizes;
        }));

    public Task<IReadOnlyList<string>> ListRepositoriesLinkingAsync(string digest, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(Readers().Read(reader =>
        {
            var command = reader.Command(
                """
                SELECT r."Name" FROM "RepositoryBlobs" rb JOIN "Repositories" r ON r."Id" = rb."RepositoryId"
                WHERE rb."Digest" = $digest ORDER BY r."Name" LIMIT $limit;
                """,
                "$digest",
                "$limit");
            command.Parameters[0].Value = digest;
            command.Parameters[1].Value = limit;
            return Strings(command);
        }));

    public async Task<StoredManifest> PutManifestAsync(string repository, NewManifest manifest, IReadOnlyList<string> tags, CancellationToken cancellationToken)
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
                SELECT r."Id", m."Id", m."MediaType", m."Size"
                FROM "Repositories" r LEFT JOIN "Manifests" m ON m."RepositoryId" = r."Id" AND m."Digest" = $digest
                WHERE r."Name" = $repository;
                """;
            long repositoryId;
            long? manifestId = null;
            StoredManifest? stored = null;
            using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                await reader.ReadAsync(CancellationToken.None);
                repositoryId = reader.GetInt64(0);
                if (!reader.IsDBNull(1))
                {
                    manifestId = reader.GetInt64(1);
                    stored = new StoredManifest(repositoryId, manifest.Digest, reader.GetString(2), reader.GetInt32(3));
                }
            }

            parameters.AddWithValue("$repositoryId", repositoryId);
            if (manifestId is null)
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
                manifestId = (long)(await command.ExecuteScalarAsync(CancellationToken.None))!;
                stored = new StoredManifest(repositoryId, manifest.Digest, manifest.MediaType, manifest.Content.Length);
                parameters.AddWithValue("$manifestId", manifestId);
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
                parameters.AddWithValue("$manifestId", manifestId);
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

            // distribution's events: one push per tag the push set, or one untagged push by digest.
            var recorded = false;
            if (tags.Count == 0)
            {
                recorded = Record(transaction, new RegistryChange(ChangeAction.Push, repository, stored!.Digest, stored.MediaType, stored.Size, null));
            }

            foreach (var name in tags)
            {
                recorded |= Record(transaction, new RegistryChange(ChangeAction.Push, repository, stored!.Digest, stored.MediaType, stored.Size, name));
            }

            transaction.Commit();
            if (recorded)
            {
                _journal.Committed();
            }

            return stored!;
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task<byte[]?> GetManifestContentAsync(long repositoryId, string digest, CancellationToken cancellationToken) =>
        Task.FromResult(Readers().Read(reader =>
        {
            var command = reader.Command(ManifestContentSql, "$repository", "$digest");
            command.Parameters[0].Value = repositoryId;
            command.Parameters[1].Value = digest;
            return command.ExecuteScalar() as byte[];
        }));

    public Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(long repositoryId, string subject, string? artifactType, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ReferrerRecord>>(Readers().Read(reader =>
        {
            var command = reader.Command(
                """
                SELECT "Digest", "MediaType", "ArtifactType", "Content" FROM "Manifests"
                WHERE "RepositoryId" = $repository AND "SubjectDigest" = $subject AND ($artifactType IS NULL OR "ArtifactType" = $artifactType)
                ORDER BY "Digest";
                """,
                "$repository",
                "$subject",
                "$artifactType");
            command.Parameters[0].Value = repositoryId;
            command.Parameters[1].Value = subject;
            command.Parameters[2].Value = (object?)artifactType ?? DBNull.Value;
            var referrers = new List<ReferrerRecord>();
            using var rows = command.ExecuteReader();
            while (rows.Read())
            {
                referrers.Add(new ReferrerRecord(rows.GetString(0), rows.GetString(1), rows.IsDBNull(2) ? null : rows.GetString(2), (byte[])rows.GetValue(3)));
            }

            return referrers;
        }));

    public Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken) =>
        DeleteJournaledAsync("""
            DELETE FROM "Tags"
            WHERE "Name" = $key AND "RepositoryId" = (SELECT "Id" FROM "Repositories" WHERE "Name" = $repository);
            """, tag, new RegistryChange(ChangeAction.Delete, repository, null, null, 0, tag), cancellationToken);

    /// <summary>
    /// Runs a DELETE of one repository's row (parameters <c>$key</c> and <c>$repository</c>) under the write lock and,
    /// when it removed something, journals <paramref name="change"/> in the same transaction, so a notification exists
    /// exactly when the delete committed; the senders are woken after the commit.
    /// </summary>
    private async Task<bool> DeleteJournaledAsync(string sql, string key, RegistryChange change, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.Command(sql);
            command.Transaction = transaction;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$repository", change.Repository);
            var removed = await command.ExecuteNonQueryAsync(CancellationToken.None) > 0;
            var recorded = removed && Record(transaction, change);
            transaction.Commit();
            if (recorded)
            {
                _journal.Committed();
            }

            return removed;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<IReadOnlyList<string>?> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
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
                return null;
            }

            // Explicit rather than relying on SQLite's foreign-key cascade, which depends on a per-connection pragma.
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", id);
            command.CommandText = """DELETE FROM "Tags" WHERE "ManifestId" = $id RETURNING "Name";""";
            var tags = Strings(command);
            command.CommandText = """
                DELETE FROM "ManifestBlobs" WHERE "ManifestId" = $id;
                DELETE FROM "ManifestChildren" WHERE "ManifestId" = $id;
                DELETE FROM "Manifests" WHERE "Id" = $id;
                """;
            await command.ExecuteNonQueryAsync(CancellationToken.None);
            var recorded = Record(transaction, new RegistryChange(ChangeAction.Delete, repository, digest, null, 0, null));
            transaction.Commit();
            if (recorded)
            {
                _journal.Committed();
            }

            return tags;
        }
        finally
        {
            _lock.Release();
        }
    }

    public Task<IReadOnlyList<string>> ListTagsAsync(long repositoryId, string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(Readers().Read(reader =>
        {
            // BINARY collation compares UTF-8 bytes: ordinal order for these ASCII names, as the spec's pagination wants.
            var command = reader.Command(
                """SELECT "Name" FROM "Tags" WHERE "RepositoryId" = $repository AND "Name" > $last ORDER BY "Name" LIMIT $limit;""",
                "$repository",
                "$last",
                "$limit");
            command.Parameters[0].Value = repositoryId;
            command.Parameters[1].Value = last ?? string.Empty;
            command.Parameters[2].Value = limit;
            return Strings(command);
        }));

    public Task<IReadOnlyList<string>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(Readers().Read(reader =>
        {
            var command = reader.Command("""SELECT "Name" FROM "Repositories" WHERE "Name" > $last ORDER BY "Name" LIMIT $limit;""", "$last", "$limit");
            command.Parameters[0].Value = last ?? string.Empty;
            command.Parameters[1].Value = limit;
            return Strings(command);
        }));

    /// <summary>
    /// Runs <paramref name="write"/> in one transaction on the writer connection, under its lock: how the registry's
    /// other SQLite stores (repositories, images, garbage collection) write to the same database without a second
    /// writer. Once the lock is held the write runs to its end. A write that records changes through
    /// <see cref="Journal"/> wakes the journal's consumer after its commit.
    /// </summary>
    internal async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _journaledInWrite = false;
            var connection = Connection();
            using var transaction = connection.BeginTransaction();
            var result = await write(connection, transaction);
            transaction.Commit();
            if (_journaledInWrite)
            {
                _journal.Committed();
            }

            return result;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="use"/> on the writer connection under its lock, outside any transaction: for settings of
    /// the connection itself (the garbage collector's page cache and memory map), which SQLite will not change inside one.
    /// </summary>
    internal async Task<T> WithWriterAsync<T>(Func<SqliteConnection, T> use, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            return use(Connection());
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Runs <paramref name="read"/> on a pooled read-only connection.</summary>
    internal T Read<T>(Func<SqliteReadPool.Reader, T> read) => Readers().Read(read);

    /// <summary>
    /// Records <paramref name="change"/> from inside a <see cref="WriteAsync"/> (a repository deleted with its images):
    /// such changes reach the notification outbox in their own transaction, like the store's own pushes and deletes.
    /// </summary>
    internal void Journal(SqliteTransaction transaction, in RegistryChange change) =>
        _journaledInWrite |= Record(transaction, change);

    /// <summary>Adds the journal's row for <paramref name="change"/> inside <paramref name="transaction"/>, if it wants one.</summary>
    private bool Record(SqliteTransaction transaction, in RegistryChange change)
    {
        if (_journal.Describe(change) is not { } entry)
        {
            return false;
        }

        using var command = transaction.Connection!.Command(JournalSql);
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$action", entry.Action);
        command.Parameters.AddWithValue("$payload", entry.Payload);
        command.Parameters.AddWithValue("$now", time.GetUtcNow().UtcDateTime);
        command.ExecuteNonQuery();
        return true;
    }

    // Opened by InitializeAsync, which migrates the schema first; callers hold _lock.
    private SqliteConnection Connection() =>
        _connection ?? throw new InvalidOperationException("the metadata store is used before InitializeAsync");

    private SqliteReadPool Readers() =>
        _readers ?? throw new InvalidOperationException("the metadata store is used before InitializeAsync");

    private static List<string> Strings(SqliteCommand command)
    {
        var values = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

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

    private static async Task ForEachAsync(SqliteTransaction transaction, string sql, Action<SqliteDataReader> row, CancellationToken cancellationToken)
    {
        using var command = transaction.Connection!.Command(sql);
        command.Transaction = transaction;
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            row(reader);
        }
    }
}

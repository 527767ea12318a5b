using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// The metadata store on EF Core with SQLite (WAL). Writes are serialized by the caller.
/// The two writes of every blob push (upload session row, blob link) go through one dedicated connection with
/// plain SQL instead of EF Core (one statement batch, no change tracking, no LINQ translation): the same rows.
/// </summary>
internal sealed class SqliteMetadataStore(IDbContextFactory<RegistryDbContext> contexts, TimeProvider time) : IMetadataStore, IDisposable
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

    // Session rows are written outside the registry's write lock (POST does not touch the index), so the dedicated
    // connection has its own.
    private readonly SemaphoreSlim _fastLock = new(1, 1);
    private SqliteConnection? _fast;

    public void Dispose()
    {
        _fast?.Dispose();
        _fastLock.Dispose();
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // WAL is a property of the database file: set once, it stays.
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);

        // EF Core's migration lock is a row in SQLite; a process killed while migrating leaves it behind and the
        // next start would wait forever. The registry holds an exclusive lock on its data dir (RegistryStartup),
        // so no one else can be migrating: a leftover row is stale.
        await db.Database.ExecuteSqlRawAsync(
            "CREATE TABLE IF NOT EXISTS \"__EFMigrationsLock\" (\"Id\" INTEGER NOT NULL CONSTRAINT \"PK___EFMigrationsLock\" PRIMARY KEY, \"Timestamp\" TEXT NOT NULL); DELETE FROM \"__EFMigrationsLock\";",
            cancellationToken);
        await db.Database.MigrateAsync(cancellationToken);
    }

    public async Task<MetadataSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var repositories = await db.Repositories.AsNoTracking().ToListAsync(cancellationToken);
        var links = (await db.RepositoryBlobs.AsNoTracking().ToListAsync(cancellationToken)).ToLookup(x => x.RepositoryId);
        var manifests = (await db.Manifests.AsNoTracking().ToListAsync(cancellationToken)).ToLookup(x => x.RepositoryId);
        var tags = (await db.Tags.AsNoTracking().ToListAsync(cancellationToken)).ToLookup(x => x.RepositoryId);
        var blobs = await db.Blobs.AsNoTracking().Select(b => new KeyValuePair<string, long>(b.Digest, b.Size)).ToListAsync(cancellationToken);
        var uploads = await db.UploadSessions.AsNoTracking().ToListAsync(cancellationToken);

        var snapshots = repositories.Select(r => new RepositorySnapshot(
            r.Id,
            r.Name,
            [.. links[r.Id].Select(l => l.Digest)],
            [.. manifests[r.Id].Select(ToRecord)],
            [.. tags[r.Id].Select(t => new KeyValuePair<string, long>(t.Name, t.ManifestId))])).ToList();
        return new MetadataSnapshot(
            snapshots,
            blobs,
            [.. uploads.Select(u => new UploadRecord(u.Id, u.Repository, u.Algorithm, u.CreatedAt))]);
    }

    public async Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        await _fastLock.WaitAsync(cancellationToken);
        try
        {
            using var command = FastConnection().CreateCommand();
            command.CommandText = CreateUploadSql;
            command.Parameters.AddWithValue("$id", upload.Id);
            command.Parameters.AddWithValue("$repository", upload.Repository);
            command.Parameters.AddWithValue("$algorithm", upload.Algorithm);
            command.Parameters.AddWithValue("$created", upload.CreatedAt);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            _fastLock.Release();
        }
    }

    public async Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await db.UploadSessions.Where(u => u.Id == uploadId).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task<long> LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken)
    {
        await _fastLock.WaitAsync(cancellationToken);
        try
        {
            var connection = FastConnection();
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
            _fastLock.Release();
        }
    }

    public async Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var deleted = await db.RepositoryBlobs
            .Where(l => l.Digest == digest && db.Repositories.Any(r => r.Id == l.RepositoryId && r.Name == repository))
            .ExecuteDeleteAsync(cancellationToken);
        return deleted > 0;
    }

    public async Task<(long RepositoryId, ManifestRecord Manifest)> PutManifestAsync(
        string repository, NewManifest manifest, IReadOnlyList<string> tags, CancellationToken cancellationToken)
    {
        await _fastLock.WaitAsync(cancellationToken);
        try
        {
            var connection = FastConnection();
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
            _fastLock.Release();
        }
    }

    public async Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var deleted = await db.Tags
            .Where(t => t.Name == tag && db.Repositories.Any(r => r.Id == t.RepositoryId && r.Name == repository))
            .ExecuteDeleteAsync(cancellationToken);
        return deleted > 0;
    }

    public async Task<bool> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var manifest = await db.Manifests
            .Where(m => m.Digest == digest && db.Repositories.Any(r => r.Id == m.RepositoryId && r.Name == repository))
            .Select(m => new { m.Id })
            .FirstOrDefaultAsync(cancellationToken);
        if (manifest is null)
        {
            return false;
        }

        // Explicit rather than relying on SQLite's foreign-key cascade, which depends on a per-connection pragma.
        await db.Tags.Where(t => t.ManifestId == manifest.Id).ExecuteDeleteAsync(cancellationToken);
        await db.ManifestBlobs.Where(r => r.ManifestId == manifest.Id).ExecuteDeleteAsync(cancellationToken);
        await db.ManifestChildren.Where(r => r.ManifestId == manifest.Id).ExecuteDeleteAsync(cancellationToken);
        await db.Manifests.Where(m => m.Id == manifest.Id).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    // Opened on first use, after InitializeAsync migrated the schema; same pragmas as EF Core's connections.
    private SqliteConnection FastConnection()
    {
        if (_fast is null)
        {
            using var db = contexts.CreateDbContext();
            var connection = new SqliteConnection(db.Database.GetConnectionString());
            connection.Open();
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = SqliteConnectionSetup.Pragmas;
            pragmas.ExecuteNonQuery();
            _fast = connection;
        }

        return _fast;
    }

    private static ManifestRecord ToRecord(ManifestEntity m) =>
        new(m.Id, m.Digest, m.MediaType, m.ArtifactType, m.SubjectDigest, m.Content, m.CreatedAt);
}

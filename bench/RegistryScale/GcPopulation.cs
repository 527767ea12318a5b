using System.Diagnostics;
using Berth.Registry;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Bench.RegistryScale;

/// <summary>
/// Writes the registry of <see cref="GcImages"/> into a data directory the way pushes would leave it: the schema from
/// the registry's own migrations (so its GC triggers are in place), then per image the rows a push writes, in push
/// order (blob row and link, manifest, its references, tag), and for garbage images a tag deletion; the triggers fill
/// the review queues as they would for those pushes. Blob files go where the filesystem store puts them, 0600.
/// </summary>
internal static class GcPopulation
{
    private const int RepositoriesPerTransaction = 50;

    public static async Task PopulateAsync(string dataDir, int repositories, Stopwatch clock)
    {
        var layout = RegistryDataDirectory.Open(dataDir);
        var files = Task.Run(() => WriteBlobFiles(layout, repositories, clock));
        await WriteRowsAsync(layout, repositories, clock);
        await files;
    }

    private static async Task WriteRowsAsync(RegistryDataDirectory layout, int repositories, Stopwatch clock)
    {
        var now = DateTime.UtcNow;
        await using var connection = await SqliteConnections.OpenAsync(SqliteConnections.ConnectionString(layout.RegistryDatabase), CancellationToken.None);
        await SqliteConnections.UseWriteAheadLogAsync(connection, CancellationToken.None);
        await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None);
        await using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = "PRAGMA cache_size=-524288; PRAGMA synchronous=OFF;";
            await pragmas.ExecuteNonQueryAsync();
        }

        for (var first = 0; first < repositories; first += RepositoriesPerTransaction)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            using var repository = Prepare(connection, transaction, """INSERT INTO "Repositories" ("Name", "CreatedAt") VALUES ($name, $now) RETURNING "Id";""", "$name", "$now");
            using var blob = Prepare(connection, transaction, """
                INSERT INTO "Blobs" ("Digest", "Size", "CreatedAt") VALUES ($digest, $size, $now) ON CONFLICT ("Digest") DO NOTHING;
                INSERT INTO "RepositoryBlobs" ("RepositoryId", "Digest", "CreatedAt") VALUES ($repository, $digest, $now) ON CONFLICT DO NOTHING;
                """, "$digest", "$size", "$now", "$repository");
            using var manifest = Prepare(connection, transaction, """
                INSERT INTO "Manifests" ("RepositoryId", "Digest", "MediaType", "ArtifactType", "SubjectDigest", "Size", "Content", "CreatedAt")
                VALUES ($repository, $digest, $type, NULL, NULL, $size, $content, $now) RETURNING "Id";
                """, "$repository", "$digest", "$type", "$size", "$content", "$now");
            using var reference = Prepare(connection, transaction, """INSERT INTO "ManifestBlobs" ("ManifestId", "Digest") VALUES ($manifest, $digest) ON CONFLICT DO NOTHING;""", "$manifest", "$digest");
            using var child = Prepare(connection, transaction, """INSERT INTO "ManifestChildren" ("ManifestId", "ChildDigest") VALUES ($manifest, $digest) ON CONFLICT DO NOTHING;""", "$manifest", "$digest");
            using var tag = Prepare(connection, transaction, """INSERT INTO "Tags" ("RepositoryId", "Name", "ManifestId", "UpdatedAt") VALUES ($repository, $name, $manifest, $now);""", "$repository", "$name", "$manifest", "$now");
            using var untag = Prepare(connection, transaction, """DELETE FROM "Tags" WHERE "RepositoryId" = $repository AND "Name" = $name;""", "$repository", "$name");
            for (var r = first; r < Math.Min(repositories, first + RepositoriesPerTransaction); r++)
            {
                var id = (long)Run(repository, GcImages.Repository(r), now)!;
                for (var o = 0; o < GcImages.Orphans; o++)
                {
                    var content = GcImages.Orphan(r, o);
                    Run(blob, GcImages.Digest(content), content.Length, now, id);
                }

                for (var image = 1; image <= GcImages.Images; image++)
                {
                    var references = GcImages.References(r, image).Select(b => (Digest: GcImages.Digest(b), b.Length)).ToList();
                    foreach (var (digest, size) in references)
                    {
                        Run(blob, digest, size, now, id);
                    }

                    var content = GcImages.Manifest(r, image);
                    var manifestId = (long)Run(manifest, id, GcImages.Digest(content), GcImages.ManifestType, content.Length, content, now)!;
                    foreach (var (digest, _) in references)
                    {
                        Run(reference, manifestId, digest);
                    }

                    if (GcImages.Tag(image) is { } name)
                    {
                        Run(tag, id, name, manifestId, now);
                    }
                    else if (GcImages.IsGarbage(image))
                    {
                        // Pushed with a tag, then the tag deleted: the trigger queues the manifest ('tag_delete').
                        Run(tag, id, GcImages.DeletedTag(image), manifestId, now);
                        Run(untag, id, GcImages.DeletedTag(image));
                    }
                }

                var index = GcImages.Index(r);
                var indexId = (long)Run(manifest, id, GcImages.Digest(index), GcImages.IndexType, index.Length, index, now)!;
                for (var image = GcImages.FirstIndexChild; image < GcImages.FirstGarbageImage; image++)
                {
                    Run(child, indexId, GcImages.Digest(GcImages.Manifest(r, image)));
                }

                Run(tag, id, "latest", indexId, now);
            }

            await transaction.CommitAsync();
            if ((first / RepositoriesPerTransaction) % 10 == 9 || first + RepositoriesPerTransaction >= repositories)
            {
                Console.WriteLine($"gc: rows of {Math.Min(repositories, first + RepositoriesPerTransaction)} repositories, {clock.Elapsed.TotalSeconds:F0} s");
            }
        }
    }

    private static void WriteBlobFiles(RegistryDataDirectory layout, int repositories, Stopwatch clock)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the benchmark writes blob files with Unix modes");
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        for (var prefix = 0; prefix < 256; prefix++)
        {
            Directory.CreateDirectory(Path.Combine(layout.Blobs, "sha256", $"{prefix:x2}"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var done = 0;
        Parallel.For(0, repositories, new ParallelOptions { MaxDegreeOfParallelism = 2 }, r =>
        {
            void Write(byte[] content)
            {
                var digest = GcImages.Digest(content);
                using var file = new FileStream(layout.Blob("sha256", digest["sha256:".Length..]), options);
                file.Write(content);
            }

            Write(GcImages.Base(r));
            for (var o = 0; o < GcImages.Orphans; o++)
            {
                Write(GcImages.Orphan(r, o));
            }

            for (var image = 1; image <= GcImages.Images; image++)
            {
                foreach (var content in GcImages.OwnBlobs(r, image))
                {
                    Write(content);
                }
            }

            if (Interlocked.Increment(ref done) % 100 == 0)
            {
                Console.WriteLine($"gc: blob files of {done} repositories, {clock.Elapsed.TotalSeconds:F0} s");
            }
        });
    }

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    private static object? Run(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        return command.ExecuteScalar();
    }
}

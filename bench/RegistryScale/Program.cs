using System.Diagnostics;
using System.Globalization;
using System.Text;
using Berth.Bench.RegistryScale;
using Berth.Registry;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

// usage: Berth.Bench.RegistryScale berth DATA_DIR REPOSITORIES PER_REPOSITORY
//        Berth.Bench.RegistryScale distribution ROOT_DIR REPOSITORIES PER_REPOSITORY
//        Berth.Bench.RegistryScale gc DATA_DIR REPOSITORIES                      (bench/registry-gc.sh)
//        Berth.Bench.RegistryScale gc-verify DATA_DIR REPOSITORIES [URL [EVERY]]
const string Usage = """
    usage: Berth.Bench.RegistryScale berth|distribution DIR REPOSITORIES PER_REPOSITORY
           Berth.Bench.RegistryScale gc DATA_DIR REPOSITORIES
           Berth.Bench.RegistryScale gc-verify DATA_DIR REPOSITORIES [REGISTRY_URL [EVERY_NTH_REPOSITORY]]
    """;
if (args is ["gc", var gcDir, var gcRepositories])
{
    var populating = Stopwatch.StartNew();
    var count = int.Parse(gcRepositories, CultureInfo.InvariantCulture);
    await GcPopulation.PopulateAsync(Path.GetFullPath(gcDir), count, populating);
    Console.WriteLine($"gc: {count * GcImages.ManifestsPerRepository} manifests, {count * GcImages.BlobsPerRepository} blobs in {count} repositories in {populating.Elapsed.TotalSeconds:F0} s");
    return 0;
}

if (args is ["gc-verify", var verifyDir, var verifyRepositories, .. var rest] && rest.Length <= 2)
{
    return await GcVerification.VerifyAsync(
        Path.GetFullPath(verifyDir),
        int.Parse(verifyRepositories, CultureInfo.InvariantCulture),
        rest.Length > 0 ? new Uri(rest[0].TrimEnd('/') + "/") : null,
        rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 10);
}

if (args.Length != 4 || args[0] is not ("berth" or "distribution"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var directory = Path.GetFullPath(args[1]);
var repositories = int.Parse(args[2], CultureInfo.InvariantCulture);
var perRepository = int.Parse(args[3], CultureInfo.InvariantCulture);
var clock = Stopwatch.StartNew();
if (args[0] == "berth")
{
    await PopulateBerthAsync(directory, repositories, perRepository, clock);
}
else
{
    PopulateDistribution(directory, repositories, perRepository, clock);
}

Console.WriteLine($"{args[0]}: {repositories * (long)perRepository} manifests in {repositories} repositories in {clock.Elapsed.TotalSeconds:F0} s");
return 0;

// Into the registry's own schema (created by its migrations, as at start-up), with the rows a push writes for what the
// benchmark reads: repository, manifest (bytes, media type, size) and tag, batched 1,000 repositories per transaction
// with prepared statements. Blob rows, links and the manifest -> blob references (six per image) are left out, as the
// blob files are on distribution's side: GET of a manifest and the start-up index read none of them, and on this
// shared machine they would triple a population that already takes tens of minutes. BLOBS=1 writes them too.
static async Task PopulateBerthAsync(string dataDir, int repositories, int perRepository, Stopwatch clock)
{
    Directory.CreateDirectory(dataDir);
    var now = DateTime.UtcNow;
    await using var connection = await SqliteConnections.OpenAsync(SqliteConnections.ConnectionString(RegistryDataDirectory.Open(dataDir).RegistryDatabase), CancellationToken.None);
    await SqliteConnections.UseWriteAheadLogAsync(connection, CancellationToken.None);
    await SchemaMigrations.ApplyAsync(connection, SchemaMigrations.Registry, CancellationToken.None);

    // Random digests land all over the indexes: a page cache that holds them saves re-reading pages from the OS.
    await using (var pragmas = connection.CreateCommand())
    {
        pragmas.CommandText = "PRAGMA cache_size=-1048576; PRAGMA synchronous=OFF;";
        await pragmas.ExecuteNonQueryAsync();
    }

    var withBlobs = Environment.GetEnvironmentVariable("BLOBS") == "1";
    for (var first = 0; first < repositories; first += 1000)
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
        using var tag = Prepare(connection, transaction, """INSERT INTO "Tags" ("RepositoryId", "Name", "ManifestId", "UpdatedAt") VALUES ($repository, $name, $manifest, $now);""", "$repository", "$name", "$manifest", "$now");
        for (var r = first; r < Math.Min(repositories, first + 1000); r++)
        {
            var id = (long)Run(repository, ScaleImages.Repository(r), now)!;
            for (var m = 0; m < perRepository; m++)
            {
                var references = new List<(string Digest, long Size)> { ScaleImages.Config(r, m) };
                for (var l = 0; l < 5; l++)
                {
                    references.Add(ScaleImages.Layer(r, m, l));
                }

                foreach (var (digest, size) in withBlobs ? references : [])
                {
                    Run(blob, digest, size, now, id);
                }

                var content = ScaleImages.Manifest(r, m);
                var manifestId = (long)Run(manifest, id, ScaleImages.Digest(content), ScaleImages.ManifestType, content.Length, content, now)!;
                foreach (var (digest, _) in withBlobs ? references : [])
                {
                    Run(reference, manifestId, digest);
                }

                Run(tag, id, ScaleImages.Tag(r, m), manifestId, now);
            }
        }

        await transaction.CommitAsync();
        Console.WriteLine($"berth: {Math.Min(repositories, first + 1000)} repositories, {clock.Elapsed.TotalSeconds:F0} s");
    }
}

static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
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

static object? Run(SqliteCommand command, params object[] values)
{
    for (var i = 0; i < values.Length; i++)
    {
        command.Parameters[i].Value = values[i];
    }

    return command.ExecuteScalar();
}

// CNCF distribution's own layout (registry/storage/paths.go), written directly: the manifest bytes as a blob
// (blobs/sha256/<2>/<hex>/data) and the repository's revision link to it (what GET by digest reads). Tags and the
// config and layer blobs are left out: GET of a manifest by digest does not read them.
static void PopulateDistribution(string root, int repositories, int perRepository, Stopwatch clock)
{
    var v2 = Path.Combine(root, "docker", "registry", "v2");
    var done = 0;
    Parallel.For(0, repositories, new ParallelOptions { MaxDegreeOfParallelism = 4 }, r =>
    {
        var repository = ScaleImages.Repository(r);
        var revisions = Path.Combine(v2, "repositories", repository, "_manifests", "revisions", "sha256");
        for (var m = 0; m < perRepository; m++)
        {
            var content = ScaleImages.Manifest(r, m);
            var digest = ScaleImages.Digest(content);
            var hex = digest["sha256:".Length..];
            var blob = Directory.CreateDirectory(Path.Combine(v2, "blobs", "sha256", hex[..2], hex)).FullName;
            File.WriteAllBytes(Path.Combine(blob, "data"), content);
            var link = Directory.CreateDirectory(Path.Combine(revisions, hex)).FullName;
            File.WriteAllBytes(Path.Combine(link, "link"), Encoding.ASCII.GetBytes(digest));
        }

        if (Interlocked.Increment(ref done) % 5000 == 0)
        {
            Console.WriteLine($"distribution: {done} repositories, {clock.Elapsed.TotalSeconds:F0} s");
        }
    });
}

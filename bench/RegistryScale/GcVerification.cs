using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Berth.Registry;
using Berth.Registry.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Berth.Bench.RegistryScale;

/// <summary>
/// After a collection: everything that must stay is there (every tag on its manifest, every live manifest row, every
/// blob a live manifest references with its row, its repository link and its file, whose bytes hash to its digest)
/// and every piece of garbage is gone (manifest rows, blob rows, links, files). Reads the database and the files
/// directly; with a registry address also asks the registry (GET of manifests by tag and by digest, HEAD of blobs)
/// for every <c>sampleEvery</c>-th repository, what a client would see, caches included. Prints the counts; any
/// mismatch is a failure.
/// </summary>
internal static class GcVerification
{
    public static async Task<int> VerifyAsync(string dataDir, int repositories, Uri? registry, int sampleEvery)
    {
        var layout = RegistryDataDirectory.Open(dataDir);
        var mismatches = new ConcurrentQueue<string>();
        var mismatchCount = 0;
        void Mismatch(string what)
        {
            if (Interlocked.Increment(ref mismatchCount) <= 20)
            {
                mismatches.Enqueue(what);
            }
        }

        await using var connection = await SqliteConnections.OpenAsync(SqliteConnections.ConnectionString(layout.RegistryDatabase), CancellationToken.None);
        var repositoryIds = new Dictionary<string, long>();
        Read(connection, """SELECT "Name", "Id" FROM "Repositories";""", r => repositoryIds[r.GetString(0)] = r.GetInt64(1));
        var manifests = new Dictionary<(long, string), long>();
        Read(connection, """SELECT "RepositoryId", "Digest", "Id" FROM "Manifests";""", r => manifests[(r.GetInt64(0), r.GetString(1))] = r.GetInt64(2));
        var tags = new Dictionary<(long, string), long>();
        Read(connection, """SELECT "RepositoryId", "Name", "ManifestId" FROM "Tags";""", r => tags[(r.GetInt64(0), r.GetString(1))] = r.GetInt64(2));
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        Read(connection, """SELECT "Digest", "Size" FROM "Blobs";""", r => blobs[r.GetString(0)] = r.GetInt64(1));
        var links = new HashSet<(long, string)>();
        Read(connection, """SELECT "RepositoryId", "Digest" FROM "RepositoryBlobs";""", r => links.Add((r.GetInt64(0), r.GetString(1))));
        var queued = new List<string>();
        Read(connection, """SELECT 'manifest reviews ' || COUNT(*) FROM "GcManifestReviews" UNION ALL SELECT 'blob reviews ' || COUNT(*) FROM "GcBlobReviews";""", r => queued.Add(r.GetString(0)));

        long liveManifests = 0, liveBlobs = 0, garbageManifests = 0, garbageBlobs = 0;
        var seenBlobs = new HashSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < repositories; r++)
        {
            var name = GcImages.Repository(r);
            if (!repositoryIds.TryGetValue(name, out var repositoryId))
            {
                Mismatch($"repository {name} is gone");
                continue;
            }

            void Live(byte[] content, string what)
            {
                var digest = GcImages.Digest(content);
                liveBlobs += seenBlobs.Add(digest) ? 1 : 0;
                if (!blobs.TryGetValue(digest, out var size) || size != content.Length)
                {
                    Mismatch($"{name}: {what} {digest}: blob row missing or wrong size");
                }

                if (!links.Contains((repositoryId, digest)))
                {
                    Mismatch($"{name}: {what} {digest}: repository link missing");
                }

                var path = layout.Blob("sha256", digest["sha256:".Length..]);
                if (!File.Exists(path) || GcImages.Digest(File.ReadAllBytes(path)) != digest)
                {
                    Mismatch($"{name}: {what} {digest}: file missing or other bytes");
                }
            }

            void Garbage(byte[] content, string what)
            {
                var digest = GcImages.Digest(content);
                garbageBlobs++;
                if (blobs.ContainsKey(digest) || links.Contains((repositoryId, digest)) || File.Exists(layout.Blob("sha256", digest["sha256:".Length..])))
                {
                    Mismatch($"{name}: garbage {what} {digest} is still there");
                }
            }

            for (var image = 1; image <= GcImages.Images; image++)
            {
                var digest = GcImages.Digest(GcImages.Manifest(r, image));
                var found = manifests.TryGetValue((repositoryId, digest), out var manifestId);
                if (GcImages.IsGarbage(image))
                {
                    garbageManifests++;
                    if (found)
                    {
                        Mismatch($"{name}: garbage image {image} {digest} is still there");
                    }

                    foreach (var content in GcImages.OwnBlobs(r, image))
                    {
                        Garbage(content, $"blob of garbage image {image}");
                    }

                    continue;
                }

                liveManifests++;
                if (!found)
                {
                    Mismatch($"{name}: image {image} {digest} is gone");
                }
                else if (GcImages.Tag(image) is { } tag && (!tags.TryGetValue((repositoryId, tag), out var tagged) || tagged != manifestId))
                {
                    Mismatch($"{name}:{tag} no longer names {digest}");
                }

                foreach (var content in GcImages.References(r, image))
                {
                    Live(content, $"blob of image {image}");
                }
            }

            liveManifests++;
            var index = GcImages.Digest(GcImages.Index(r));
            if (!manifests.TryGetValue((repositoryId, index), out var indexId) || !tags.TryGetValue((repositoryId, "latest"), out var latest) || latest != indexId)
            {
                Mismatch($"{name}:latest (index {index}) is gone");
            }

            for (var o = 0; o < GcImages.Orphans; o++)
            {
                Garbage(GcImages.Orphan(r, o), "orphan");
            }
        }

        Console.WriteLine($"gc-verify: {repositories} repositories: {liveManifests} live manifests, {liveBlobs} live blobs checked (rows, links, file bytes); {garbageManifests} garbage manifests, {garbageBlobs} garbage blobs checked gone");
        Console.WriteLine($"gc-verify: database now holds {manifests.Count} manifests, {blobs.Count} blobs, {links.Count} links; queues left: {string.Join(", ", queued)}");
        if (registry is not null)
        {
            var requests = await VerifyOverHttpAsync(registry, repositories, sampleEvery, Mismatch);
            Console.WriteLine($"gc-verify: over HTTP, every {sampleEvery}th repository: {requests} requests");
        }

        foreach (var mismatch in mismatches)
        {
            Console.WriteLine($"    mismatch: {mismatch}");
        }

        Console.WriteLine($"gc-verify: mismatches {mismatchCount}");
        return mismatchCount == 0 ? 0 : 1;
    }

    private static async Task<long> VerifyOverHttpAsync(Uri registry, int repositories, int sampleEvery, Action<string> mismatch)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8, UseProxy = false }) { BaseAddress = registry, Timeout = TimeSpan.FromSeconds(60) };
        long requests = 0;
        var sampled = Enumerable.Range(0, repositories).Where(r => r % sampleEvery == 0);
        await Parallel.ForEachAsync(sampled, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (r, ct) =>
        {
            var name = GcImages.Repository(r);
            async Task Expect(HttpMethod method, string path, HttpStatusCode status, string? digest)
            {
                using var request = new HttpRequestMessage(method, $"v2/{name}/{path}");
                request.Headers.Accept.ParseAdd(GcImages.ManifestType);
                request.Headers.Accept.ParseAdd(GcImages.IndexType);
                using var response = await http.SendAsync(request, ct);
                Interlocked.Increment(ref requests);
                if (response.StatusCode != status)
                {
                    mismatch($"{method} {name}/{path}: {(int)response.StatusCode}, expected {(int)status}");
                }
                else if (digest is not null && method == HttpMethod.Get
                    && "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await response.Content.ReadAsByteArrayAsync(ct))) != digest)
                {
                    mismatch($"GET {name}/{path}: other bytes than {digest}");
                }
            }

            await Expect(HttpMethod.Get, "manifests/latest", HttpStatusCode.OK, GcImages.Digest(GcImages.Index(r)));
            for (var image = 1; image <= GcImages.Images; image++)
            {
                var digest = GcImages.Digest(GcImages.Manifest(r, image));
                if (GcImages.IsGarbage(image))
                {
                    await Expect(HttpMethod.Get, $"manifests/{digest}", HttpStatusCode.NotFound, null);
                    foreach (var content in GcImages.OwnBlobs(r, image))
                    {
                        await Expect(HttpMethod.Head, $"blobs/{GcImages.Digest(content)}", HttpStatusCode.NotFound, null);
                    }

                    continue;
                }

                await Expect(HttpMethod.Get, GcImages.Tag(image) is { } tag ? $"manifests/{tag}" : $"manifests/{digest}", HttpStatusCode.OK, digest);
                foreach (var content in GcImages.References(r, image))
                {
                    await Expect(HttpMethod.Head, $"blobs/{GcImages.Digest(content)}", HttpStatusCode.OK, null);
                }
            }

            for (var o = 0; o < GcImages.Orphans; o++)
            {
                await Expect(HttpMethod.Head, $"blobs/{GcImages.Digest(GcImages.Orphan(r, o))}", HttpStatusCode.NotFound, null);
            }
        });
        return requests;
    }

    private static void Read(SqliteConnection connection, string sql, Action<SqliteDataReader> row)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            row(reader);
        }
    }
}

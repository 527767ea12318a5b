using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Storage.Sqlite;
using Berth.Registry.Tests.Manifests;
using Berth.TestSupport;
using Microsoft.Data.Sqlite;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Storage;

/// <summary>Restarts: a new registry instance on the same data dir sees everything acknowledged before.</summary>
public sealed class PersistenceTests : IAsyncLifetime
{
    private readonly RegistryApp _app = new();

    public Task InitializeAsync() => _app.InitializeAsync();

    public Task DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task UploadSession_SurvivesARestart_AndResumesWhereItWas()
    {
        var content = RandomBytes(300_000);
        var digest = Sha256(content);
        string location;
        using (var client = _app.CreateClient())
        {
            using var start = await client.PostAsync("/v2/persist/resume/blobs/uploads/", null);
            using var first = await PatchAsync(client, start.LocationPath(), content[..100_000], "0-99999");
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            location = first.LocationPath();
        }

        await _app.RestartAsync();

        using var restarted = _app.CreateClient();
        using var status = await restarted.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-99999", status.Header("Range"));

        using var outOfOrder = await PatchAsync(restarted, location, content[200_000..], "200000-299999");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, outOfOrder.StatusCode);
        using var second = await PatchAsync(restarted, location, content[100_000..], "100000-299999");
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        using var put = await restarted.PutAsync($"{location}&digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await restarted.GetByteArrayAsync($"/v2/persist/resume/blobs/{digest}"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_app.DataDir, "uploads")));
    }

    [Fact]
    public async Task ManifestsTagsBlobsAndLinks_SurviveARestart()
    {
        string manifest;
        string digest;
        string extraDigest;
        using (var client = _app.CreateClient())
        {
            manifest = await client.PushImageBlobsAsync("persist/image", layerCount: 2);
            digest = Sha256(Encoding.UTF8.GetBytes(manifest));
            await (await client.PutManifestAsync("persist/image", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
            await (await client.PutManifestAsync("persist/image", "gone", manifest, DockerManifest)).EnsureCreatedAsync();
            (await client.DeleteAsync("/v2/persist/image/manifests/gone")).Dispose();
            extraDigest = await client.PushBlobAsync("persist/other", RandomBytes(77));
        }

        await _app.RestartAsync();

        using var restarted = _app.CreateClient();
        using var byTag = await restarted.GetAsync("/v2/persist/image/manifests/v1");
        Assert.Equal(manifest, await byTag.Content.ReadAsStringAsync());
        Assert.Equal(digest, byTag.Header("Docker-Content-Digest"));
        using var tags = await restarted.GetAsync("/v2/persist/image/tags/list");
        Assert.Equal("""{"name":"persist/image","tags":["v1"]}""", await tags.Content.ReadAsStringAsync());
        using var catalog = await restarted.GetAsync("/v2/_catalog");
        Assert.Equal("""{"repositories":["persist/image","persist/other"]}""", await catalog.Content.ReadAsStringAsync());
        using var head = await restarted.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/persist/other/blobs/{extraDigest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(77, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Metadata_IsInSqliteWithMigrations_AndReferencesAreRecorded()
    {
        string digest;
        using (var client = _app.CreateClient())
        {
            var manifest = await client.PushImageBlobsAsync("persist/schema", layerCount: 2);
            digest = Sha256(Encoding.UTF8.GetBytes(manifest));
            await (await client.PutManifestAsync("persist/schema", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
        }

        await _app.RestartAsync();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_app.DataDir, "registry.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        Assert.Equal("wal", await ScalarAsync<string>(connection, "PRAGMA journal_mode;"));
        Assert.Equal((long)SchemaMigrations.Scripts(SchemaMigrations.Registry).Count, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM __EFMigrationsHistory;"));
        Assert.Equal(3L, await ScalarAsync<long>(connection, $"SELECT COUNT(*) FROM ManifestBlobs mb JOIN Manifests m ON m.Id = mb.ManifestId WHERE m.Digest = '{digest}';"));
        Assert.Equal(3L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM RepositoryBlobs rb JOIN Repositories r ON r.Id = rb.RepositoryId WHERE r.Name = 'persist/schema';"));
    }

    [Fact]
    public async Task InterruptedUploads_AreFoundByTheirRecords_AndRemovedAtStart()
    {
        using (var client = _app.CreateClient())
        {
            (await client.GetAsync("/v2/")).Dispose();
        }

        // What kill -9 leaves: a monolithic upload cut off mid-body (record and bytes), and a session whose bytes were
        // committed just before the metadata transaction (record, no bytes). The uploads directory is never listed:
        // the records are what recovery goes by.
        var monolithic = Guid.NewGuid().ToString("N");
        var committed = Guid.NewGuid().ToString("N");
        var monolithicFile = Path.Combine(_app.DataDir, "uploads", monolithic);
        await File.WriteAllBytesAsync(monolithicFile, RandomBytes(10));
        await _app.RestartAsync();
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_app.DataDir, "registry.db"), Pooling = false }.ToString()))
        {
            await connection.OpenAsync();
            await ScalarAsync<long>(connection, $"""
                INSERT INTO UploadSessions (Id, Repository, Algorithm, CreatedAt, Monolithic) VALUES ('{monolithic}', 'persist/cut', 'sha256', '2026-01-01 00:00:00', 1);
                INSERT INTO UploadSessions (Id, Repository, Algorithm, CreatedAt, Monolithic) VALUES ('{committed}', 'persist/cut', 'sha256', '2026-01-01 00:00:00', 0);
                SELECT COUNT(*) FROM UploadSessions;
                """);
        }

        await _app.RestartAsync();
        using (var client = _app.CreateClient())
        {
            using var status = await client.GetAsync($"/v2/persist/cut/blobs/uploads/{committed}");
            await AssertErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        }

        Assert.False(File.Exists(monolithicFile));
        await using var check = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_app.DataDir, "registry.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await check.OpenAsync();
        Assert.Equal(0L, await ScalarAsync<long>(check, "SELECT COUNT(*) FROM UploadSessions;"));
    }

    private static async Task<T> ScalarAsync<T>(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<HttpResponseMessage> PatchAsync(HttpClient client, string location, byte[] chunk, string contentRange)
    {
        var content = new ByteArrayContent(chunk);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        return await client.PatchAsync(location, content).WithTimeout();
    }
}

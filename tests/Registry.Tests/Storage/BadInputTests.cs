using System.Text;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Tests.Manifests;
using Microsoft.Data.Sqlite;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Storage;

/// <summary>Bad input gets a 4xx in the spec's format and leaves everything stored exactly as it was.</summary>
public sealed class BadInputTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task ABarrageOfBadRequests_ChangesNothingStored()
    {
        var manifest = await _client.PushImageBlobsAsync("bad/app", layerCount: 2);
        var digest = Sha256(Encoding.UTF8.GetBytes(manifest));
        await (await _client.PutManifestAsync("bad/app", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
        var before = await SnapshotAsync();

        var zero = "sha256:" + new string('0', 64);
        var requests = new List<HttpRequestMessage>
        {
            new(HttpMethod.Get, "/v2/bad/app/blobs/sha256:short"),
            new(HttpMethod.Delete, "/v2/bad/app/blobs/SHA256:" + new string('A', 64)),
            new(HttpMethod.Delete, "/v2/bad/app/manifests/sha256:nothex"),
            new(HttpMethod.Delete, "/v2/bad/app/manifests/-badtag"),
            new(HttpMethod.Delete, $"/v2/bad/app/manifests/{zero}"),
            new(HttpMethod.Delete, "/v2/Bad/App/manifests/v1"),
            new(HttpMethod.Delete, "/v2/bad/app/manifests/nosuchtag"),
            new(HttpMethod.Delete, $"/v2/bad/other/blobs/{digest}"),
            new(HttpMethod.Post, "/v2/bad/app/blobs/uploads/?digest=sha256:xyz") { Content = new ByteArrayContent([1, 2, 3]) },
            new(HttpMethod.Post, $"/v2/bad/app/blobs/uploads/?digest={zero}") { Content = new ByteArrayContent([1, 2, 3]) },
            new(HttpMethod.Post, "/v2/bad/app/blobs/uploads/?mount=sha256:xyz&from=bad/app"),
            new(HttpMethod.Put, "/v2/bad/app/manifests/v1") { Content = Json("{not json", DockerManifest) },
            new(HttpMethod.Put, "/v2/bad/app/manifests/v1") { Content = Json(manifest.Replace("sha256:", "sha256:0", StringComparison.Ordinal), DockerManifest) },
            new(HttpMethod.Put, "/v2/bad/app/manifests/v1") { Content = Json("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"a","digest":"sha256:""" + new string('1', 64) + "\",\"size\":1},\"layers\":[]}", DockerManifest) },
            new(HttpMethod.Put, $"/v2/bad/app/manifests/{zero}") { Content = Json(manifest, DockerManifest) },
            new(HttpMethod.Put, "/v2/bad/app/manifests/v1") { Content = Json(manifest, "application/vnd.docker.distribution.manifest.v1+prettyjws") },
            new(HttpMethod.Put, "/v2/bad/app/manifests/v1") { Content = Json(new string(' ', (4 * 1024 * 1024) + 10), DockerManifest) },
            new(HttpMethod.Put, $"/v2/bad/app/manifests/{digest}?tag=..bad") { Content = Json(manifest, DockerManifest) },
            new(HttpMethod.Get, "/v2/bad/app/tags/list?n=-5"),
            new(HttpMethod.Patch, $"/v2/bad/app/blobs/uploads/{Guid.NewGuid():N}") { Content = new ByteArrayContent([1]) },
        };

        foreach (var request in requests)
        {
            var description = $"{request.Method} {request.RequestUri}";
            using var response = await _client.SendAsync(request);
            var status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"{description} answered {status}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("{\"errors\":[{\"code\":", body, StringComparison.Ordinal);
        }

        Assert.Equal(before, await SnapshotAsync());
        using var get = await _client.GetAsync("/v2/bad/app/manifests/v1");
        Assert.Equal(manifest, await get.Content.ReadAsStringAsync());
    }

    private static ByteArrayContent Json(string body, string mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        return content;
    }

    // Everything stored: blob files, the number of upload files, and every metadata row (upload sessions included).
    private async Task<string> SnapshotAsync()
    {
        var builder = new StringBuilder();
        foreach (var file in Directory.GetFiles(Path.Combine(app.DataDir, "blobs"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            builder.Append(file).Append(' ').Append(new FileInfo(file).Length).AppendLine();
        }

        builder.Append("uploads ").Append(Directory.GetFiles(Path.Combine(app.DataDir, "uploads")).Length).AppendLine();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(app.DataDir, "registry.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        foreach (var table in new[] { "Repositories", "Blobs", "RepositoryBlobs", "Manifests", "Tags", "ManifestBlobs", "ManifestChildren", "UploadSessions" })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\" ORDER BY 1, 2";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                builder.Append(table);
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.GetValue(i);
                    builder.Append('|').Append(value is byte[] bytes ? Convert.ToHexString(bytes) : value.ToString());
                }

                builder.AppendLine();
            }
        }

        return builder.ToString();
    }
}

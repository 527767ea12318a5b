using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Tests.Manifests;
using Berth.TestSupport;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Uploads;

public sealed class ConcurrencyTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task ParallelPushesOfTheSameBlobToManyRepositories_StoreItOnce()
    {
        var content = RandomBytes(200_000);
        var digest = Sha256(content);

        var pushes = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            using var start = await _client.PostAsync($"/v2/par/r{i % 4}/blobs/uploads/", null);
            using var patch = await _client.PatchAsync(start.LocationPath(), new ByteArrayContent(content));
            using var put = await _client.PutAsync($"{patch.LocationPath()}&digest={digest}", null);
            return put.StatusCode;
        }));
        var results = await Task.WhenAll(pushes).WithTimeout();

        Assert.All(results, status => Assert.Equal(HttpStatusCode.Created, status));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/par/r{i}/blobs/{digest}"));
        }

        var hex = digest["sha256:".Length..];
        Assert.Single(Directory.GetFiles(Path.Combine(app.DataDir, "blobs", "sha256", hex[..2]), hex));
        Assert.Empty(Directory.GetFiles(Path.Combine(app.DataDir, "uploads")));
    }

    [Fact]
    public async Task ParallelTagPushes_AllLand()
    {
        var manifest = await _client.PushImageBlobsAsync("par/tags", layerCount: 1);
        var puts = Enumerable.Range(0, 20).Select(i => _client.PutManifestAsync("par/tags", $"t{i:D2}", manifest, DockerManifest));
        foreach (var response in await Task.WhenAll(puts).WithTimeout())
        {
            await response.EnsureCreatedAsync();
        }

        using var tags = await _client.GetAsync("/v2/par/tags/tags/list");
        using var document = JsonDocument.Parse(await tags.Content.ReadAsStringAsync());
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"t{i:D2}"), document.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(Sha256(Encoding.UTF8.GetBytes(manifest)), (await _client.GetAsync("/v2/par/tags/manifests/t07")).Header("Docker-Content-Digest"));
    }
}

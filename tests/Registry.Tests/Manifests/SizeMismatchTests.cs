using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Manifests;

/// <summary>
/// A descriptor whose size is not the stored content's is refused: a client that trusted it would read a truncated
/// or overlong blob. MANIFEST_INVALID, naming the descriptor, and nothing is stored.
/// </summary>
public sealed class SizeMismatchTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Theory]
    [InlineData("layers", 1)]
    [InlineData("layers", -1)]
    [InlineData("config", 1)]
    public async Task AManifest_DeclaringAnotherSizeThanTheStoredBlobs_IsManifestInvalid_NamingTheDescriptor(string field, int delta)
    {
        var repository = $"size/{field}{(delta > 0 ? "-over" : "-under")}";
        var manifest = JsonNode.Parse(await _client.PushImageBlobsAsync(repository, layerCount: 2))!.AsObject();
        var descriptor = field == "config" ? manifest["config"]!.AsObject() : manifest["layers"]![1]!.AsObject();
        var stored = descriptor["size"]!.GetValue<long>();
        descriptor["size"] = stored + delta;

        using var put = await _client.PutManifestAsync(repository, "v1", manifest.ToJsonString(), DockerManifest);

        var errors = await AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var detail = Assert.Single(errors.EnumerateArray()).GetProperty("detail").GetString()!;
        Assert.Contains(field == "config" ? "config" : "layers[1]", detail, StringComparison.Ordinal);
        Assert.Contains(descriptor["digest"]!.GetValue<string>(), detail, StringComparison.Ordinal);
        Assert.Contains($"{stored} bytes", detail, StringComparison.Ordinal);
        using var get = await _client.GetAsync($"/v2/{repository}/manifests/v1");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task AnIndex_DeclaringAnotherSizeThanTheStoredChild_IsManifestInvalid()
    {
        const string repository = "size/index";
        var child = await _client.PushImageBlobsAsync(repository, layerCount: 1);
        var childDigest = Sha256(Encoding.UTF8.GetBytes(child));
        await (await _client.PutManifestAsync(repository, childDigest, child, DockerManifest)).EnsureCreatedAsync();
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciIndex,
            ["manifests"] = new JsonArray(Descriptor(DockerManifest, childDigest, child.Length + 10)),
        }.ToJsonString();

        using var put = await _client.PutManifestAsync(repository, "multi", index, OciIndex);

        var errors = await AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Contains("manifests[0]", errors[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRightSizes_AreAccepted()
    {
        var manifest = await _client.PushImageBlobsAsync("size/right", layerCount: 2);
        await (await _client.PutManifestAsync("size/right", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
    }
}

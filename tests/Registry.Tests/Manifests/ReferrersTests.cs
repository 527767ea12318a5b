using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Manifests;

public sealed class ReferrersTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private const string EmptyConfig = "application/vnd.oci.empty.v1+json";
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Artifacts_WithSubject_AreListedAsReferrers_FilteredByArtifactType()
    {
        const string repository = "ref/app";
        var image = await _client.PushImageBlobsAsync(repository, layerCount: 1, mediaType: OciManifest);
        var imageDigest = Sha256(Encoding.UTF8.GetBytes(image));
        await (await _client.PutManifestAsync(repository, "v1", image, OciManifest)).EnsureCreatedAsync();

        var signature = await ArtifactAsync(repository, "application/vnd.example.signature", imageDigest, image.Length, "sig");
        var sbom = await ArtifactAsync(repository, "application/spdx+json", imageDigest, image.Length, "sbom");
        var signatureDigest = Sha256(Encoding.UTF8.GetBytes(signature));

        using var put = await _client.PutManifestAsync(repository, signatureDigest, signature, OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(imageDigest, put.Header("OCI-Subject"));
        await (await _client.PutManifestAsync(repository, Sha256(Encoding.UTF8.GetBytes(sbom)), sbom, OciManifest)).EnsureCreatedAsync();

        using var all = await _client.GetAsync($"/v2/{repository}/referrers/{imageDigest}");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(OciIndex, all.Content.Headers.ContentType!.MediaType);
        Assert.False(all.Headers.Contains("OCI-Filters-Applied"));
        using (var document = JsonDocument.Parse(await all.Content.ReadAsStringAsync()))
        {
            var manifests = document.RootElement.GetProperty("manifests");
            Assert.Equal(2, manifests.GetArrayLength());
            var types = manifests.EnumerateArray().Select(m => m.GetProperty("artifactType").GetString()).Order().ToList();
            Assert.Equal(["application/spdx+json", "application/vnd.example.signature"], types);
            var sig = manifests.EnumerateArray().Single(m => m.GetProperty("digest").GetString() == signatureDigest);
            Assert.Equal(OciManifest, sig.GetProperty("mediaType").GetString());
            Assert.Equal(Encoding.UTF8.GetByteCount(signature), sig.GetProperty("size").GetInt64());
            Assert.Equal("sig", sig.GetProperty("annotations").GetProperty("org.example.kind").GetString());
        }

        using var filtered = await _client.GetAsync($"/v2/{repository}/referrers/{imageDigest}?artifactType=application/vnd.example.signature");
        Assert.Equal("artifactType", filtered.Header("OCI-Filters-Applied"));
        using (var document = JsonDocument.Parse(await filtered.Content.ReadAsStringAsync()))
        {
            var only = Assert.Single(document.RootElement.GetProperty("manifests").EnumerateArray());
            Assert.Equal(signatureDigest, only.GetProperty("digest").GetString());
        }
    }

    [Fact]
    public async Task ImageWithoutArtifactType_IsListedUnderItsConfigMediaType_EmptyConfigIncluded()
    {
        const string repository = "ref/untyped";
        var subject = Sha256(RandomBytes(7));
        var empty = Encoding.UTF8.GetBytes("{}");
        var emptyDigest = await _client.PushBlobAsync(repository, empty);
        var untyped = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = Descriptor(EmptyConfig, emptyDigest, empty.Length),
            ["layers"] = new JsonArray(),
            ["subject"] = Descriptor(OciManifest, subject, 7),
        }.ToJsonString();
        await (await _client.PutManifestAsync(repository, Sha256(Encoding.UTF8.GetBytes(untyped)), untyped, OciManifest)).EnsureCreatedAsync();

        using var response = await _client.GetAsync($"/v2/{repository}/referrers/{subject}?artifactType={Uri.EscapeDataString(EmptyConfig)}");

        // OCI: "If the artifactType is empty or missing in an image manifest, the value of artifactType MUST be set to
        // the config descriptor mediaType value", whatever that is.
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var only = Assert.Single(document.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(EmptyConfig, only.GetProperty("artifactType").GetString());
    }

    [Fact]
    public async Task NoReferrers_IsAnEmptyIndex()
    {
        using var response = await _client.GetAsync($"/v2/ref/none/referrers/{Sha256(RandomBytes(5))}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, document.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(0, document.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public async Task MalformedDigest_IsDigestInvalid()
    {
        using var response = await _client.GetAsync("/v2/ref/none/referrers/sha256:zz");
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task SubjectNeedNotExist()
    {
        var artifact = await ArtifactAsync("ref/dangling", "application/vnd.example.thing", Sha256(RandomBytes(9)), 9, "x");
        using var put = await _client.PutManifestAsync("ref/dangling", Sha256(Encoding.UTF8.GetBytes(artifact)), artifact, OciManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    private async Task<string> ArtifactAsync(string repository, string artifactType, string subject, long subjectSize, string kind)
    {
        var empty = Encoding.UTF8.GetBytes("{}");
        var emptyDigest = await _client.PushBlobAsync(repository, empty);
        var payload = RandomBytes(50);
        var payloadDigest = await _client.PushBlobAsync(repository, payload);
        return new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["artifactType"] = artifactType,
            ["config"] = Descriptor(EmptyConfig, emptyDigest, empty.Length),
            ["layers"] = new JsonArray(Descriptor("application/octet-stream", payloadDigest, payload.Length)),
            ["subject"] = Descriptor(OciManifest, subject, subjectSize),
            ["annotations"] = new JsonObject { ["org.example.kind"] = kind },
        }.ToJsonString();
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Manifests;

public sealed class ManifestTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Theory]
    [InlineData(DockerManifest)]
    [InlineData(OciManifest)]
    public async Task PutByTag_ThenGetByTagAndDigest_ServesTheExactBytes(string mediaType)
    {
        var repository = mediaType == DockerManifest ? "man/docker" : "man/oci";
        var manifest = await _client.PushImageBlobsAsync(repository, mediaType: mediaType);
        var digest = Sha256(Encoding.UTF8.GetBytes(manifest));

        using var put = await _client.PutManifestAsync(repository, "v1", manifest, mediaType);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/{repository}/manifests/{digest}", put.LocationPath());

        foreach (var reference in new[] { "v1", digest })
        {
            using var get = await _client.GetAsync($"/v2/{repository}/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(manifest, await get.Content.ReadAsStringAsync());
            Assert.Equal(mediaType, get.Content.Headers.ContentType!.MediaType);
            Assert.Equal(digest, get.Header("Docker-Content-Digest"));
            Assert.Equal($"\"{digest}\"", get.Headers.ETag!.Tag);

            using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(Encoding.UTF8.GetByteCount(manifest), head.Content.Headers.ContentLength);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Accept_IsNegotiated_NeverConverted()
    {
        var manifest = await _client.PushImageBlobsAsync("man/accept");
        await (await _client.PutManifestAsync("man/accept", "v1", manifest, DockerManifest)).EnsureCreatedAsync();

        var ociOnly = new HttpRequestMessage(HttpMethod.Get, "/v2/man/accept/manifests/v1");
        ociOnly.Headers.Accept.ParseAdd(OciManifest);
        using var rejected = await _client.SendAsync(ociOnly);
        await AssertErrorAsync(rejected, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");

        var dockerList = new HttpRequestMessage(HttpMethod.Get, "/v2/man/accept/manifests/v1");
        dockerList.Headers.Accept.ParseAdd($"{OciManifest}, {DockerManifest};q=0.9, {OciIndex}");
        using var accepted = await _client.SendAsync(dockerList);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        var wildcard = new HttpRequestMessage(HttpMethod.Get, "/v2/man/accept/manifests/v1");
        wildcard.Headers.Accept.ParseAdd("*/*");
        using var any = await _client.SendAsync(wildcard);
        Assert.Equal(DockerManifest, any.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Put_WithMissingBlobs_ListsEachAsManifestBlobUnknown_AndStoresNothing()
    {
        var missingConfig = Sha256(RandomBytes(16));
        var missingLayer = Sha256(RandomBytes(16));
        var present = await _client.PushBlobAsync("man/missing", RandomBytes(100));
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = DockerManifest,
            ["config"] = Descriptor(DockerConfig, missingConfig, 16),
            ["layers"] = new JsonArray(Descriptor(DockerLayer, present, 100), Descriptor(DockerLayer, missingLayer, 16)),
        }.ToJsonString();

        using var put = await _client.PutManifestAsync("man/missing", "v1", manifest, DockerManifest);

        var errors = await AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        var details = errors.EnumerateArray().Select(e => e.GetProperty("detail").GetString()).ToList();
        Assert.Equal([missingConfig, missingLayer], details);
        using var get = await _client.GetAsync("/v2/man/missing/manifests/v1");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task ForeignLayers_NeedNotExist()
    {
        var config = await _client.PushBlobAsync("man/foreign", Encoding.UTF8.GetBytes("{}"));
        var foreign = Descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Sha256(RandomBytes(32)), 32);
        foreign["urls"] = new JsonArray("https://example.com/layer.tar.gz");
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = DockerManifest,
            ["config"] = Descriptor(DockerConfig, config, 2),
            ["layers"] = new JsonArray(foreign),
        }.ToJsonString();

        using var put = await _client.PutManifestAsync("man/foreign", "win", manifest, DockerManifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Theory]
    [InlineData(DockerManifestList)]
    [InlineData(OciIndex)]
    public async Task Index_RequiresItsChildManifests(string indexType)
    {
        var repository = indexType == OciIndex ? "man/index-oci" : "man/index-docker";
        var child = await _client.PushImageBlobsAsync(repository, layerCount: 1);
        var childDigest = Sha256(Encoding.UTF8.GetBytes(child));
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = indexType,
            ["manifests"] = new JsonArray(PlatformDescriptor(childDigest, child.Length, "amd64")),
        }.ToJsonString();

        using var early = await _client.PutManifestAsync(repository, "multi", index, indexType);
        var errors = await AssertErrorAsync(early, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
        Assert.Equal(childDigest, errors[0].GetProperty("detail").GetString());

        await (await _client.PutManifestAsync(repository, childDigest, child, DockerManifest)).EnsureCreatedAsync();
        using var put = await _client.PutManifestAsync(repository, "multi", index, indexType);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/multi");
        request.Headers.Accept.ParseAdd(indexType);
        using var get = await _client.SendAsync(request);
        Assert.Equal(indexType, get.Content.Headers.ContentType!.MediaType);
        using var byDigest = await _client.GetAsync($"/v2/{repository}/manifests/{childDigest}");
        Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
    }

    [Fact]
    public async Task PutByDigest_ChecksTheDigest_AndMayTag()
    {
        var manifest = await _client.PushImageBlobsAsync("man/bydigest", layerCount: 1);
        var digest = Sha256(Encoding.UTF8.GetBytes(manifest));

        using var wrong = await _client.PutManifestAsync("man/bydigest", Sha256(RandomBytes(4)), manifest, DockerManifest);
        await AssertErrorAsync(wrong, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        using var put = await _client.PutManifestAsync("man/bydigest", $"{digest}?tag=a&tag=b&tag=a", manifest, DockerManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        // OCI: each tag the push set comes back as an OCI-Tag header (once, however often it was asked for).
        Assert.Equal(["a", "b"], put.Headers.GetValues("OCI-Tag"));
        using var tags = await _client.GetAsync("/v2/man/bydigest/tags/list");
        Assert.Equal("""{"name":"man/bydigest","tags":["a","b"]}""", await tags.Content.ReadAsStringAsync());
        using var badTag = await _client.PutManifestAsync("man/bydigest", $"{digest}?tag=ok&tag=-bad", manifest, DockerManifest);
        await AssertErrorAsync(badTag, HttpStatusCode.BadRequest, "TAG_INVALID");
        Assert.DoesNotContain("ok", await _client.GetStringAsync("/v2/man/bydigest/tags/list"), StringComparison.Ordinal);

        var sha512Digest = Sha512(Encoding.UTF8.GetBytes(manifest));
        using var sha512 = await _client.PutManifestAsync("man/bydigest", sha512Digest, manifest, DockerManifest);
        Assert.Equal(HttpStatusCode.Created, sha512.StatusCode);
        Assert.Equal(sha512Digest, sha512.Header("Docker-Content-Digest"));
        using var get512 = await _client.GetAsync($"/v2/man/bydigest/manifests/{sha512Digest}");
        Assert.Equal(HttpStatusCode.OK, get512.StatusCode);
    }

    [Fact]
    public async Task PutByDigest_WithSha512TagParameters_TagsServeTheSha512Digest()
    {
        var manifest = await _client.PushImageBlobsAsync("man/tag512", layerCount: 1, mediaType: OciManifest);
        var digest = Sha512(Encoding.UTF8.GetBytes(manifest));

        using var put = await _client.PutManifestAsync("man/tag512", $"{digest}?tag=v1&tag=latest", manifest, OciManifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(["v1", "latest"], put.Headers.GetValues("OCI-Tag"));
        Assert.Equal($"/v2/man/tag512/manifests/{digest}", put.LocationPath());
        foreach (var tag in new[] { "v1", "latest" })
        {
            using var get = await _client.GetAsync($"/v2/man/tag512/manifests/{tag}");
            Assert.Equal(digest, get.Header("Docker-Content-Digest"));
            Assert.Equal(manifest, await get.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task PutByTag_WithADigestParameter_KeepsTheClientsAlgorithm()
    {
        var manifest = await _client.PushImageBlobsAsync("man/pinned", layerCount: 1, mediaType: OciManifest);
        var sha512 = Sha512(Encoding.UTF8.GetBytes(manifest));

        using var put = await _client.PutManifestAsync("man/pinned", $"v1?digest={sha512}", manifest, OciManifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(sha512, put.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/man/pinned/manifests/{sha512}", put.LocationPath());
        Assert.Equal("v1", put.Header("OCI-Tag"));
        using var byTag = await _client.GetAsync("/v2/man/pinned/manifests/v1");
        Assert.Equal(sha512, byTag.Header("Docker-Content-Digest"));
        using var byDigest = await _client.GetAsync($"/v2/man/pinned/manifests/{sha512}");
        Assert.Equal(manifest, await byDigest.Content.ReadAsStringAsync());
        // Without the parameter a tagged push is sha256, the canonical algorithm.
        using var plain = await _client.PutManifestAsync("man/pinned", "v2", manifest, OciManifest);
        Assert.Equal(Sha256(Encoding.UTF8.GetBytes(manifest)), plain.Header("Docker-Content-Digest"));
    }

    [Fact]
    public async Task PutByTag_WithAWrongDigestParameter_OrTagParameters_IsRefusedAndStoresNothing()
    {
        var manifest = await _client.PushImageBlobsAsync("man/pinned-bad", layerCount: 1, mediaType: OciManifest);

        using var wrong = await _client.PutManifestAsync("man/pinned-bad", $"v1?digest={Sha512(RandomBytes(8))}", manifest, OciManifest);
        await AssertErrorAsync(wrong, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var malformed = await _client.PutManifestAsync("man/pinned-bad", "v1?digest=sha512:nope", manifest, OciManifest);
        await AssertErrorAsync(malformed, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        // Tag parameters go with a push by digest; a push by tag already names its tag.
        using var tagged = await _client.PutManifestAsync("man/pinned-bad", "v1?tag=v2", manifest, OciManifest);
        await AssertErrorAsync(tagged, HttpStatusCode.BadRequest, "TAG_INVALID");

        Assert.Equal("""{"name":"man/pinned-bad","tags":[]}""", await _client.GetStringAsync("/v2/man/pinned-bad/tags/list"));
    }

    [Fact]
    public async Task DeleteByTag_RemovesOnlyTheTag()
    {
        var manifest = await _client.PushImageBlobsAsync("man/deltag", layerCount: 1);
        var digest = Sha256(Encoding.UTF8.GetBytes(manifest));
        await (await _client.PutManifestAsync("man/deltag", "one", manifest, DockerManifest)).EnsureCreatedAsync();
        await (await _client.PutManifestAsync("man/deltag", "two", manifest, DockerManifest)).EnsureCreatedAsync();

        using var deleted = await _client.DeleteAsync("/v2/man/deltag/manifests/one");
        Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);

        using var gone = await _client.GetAsync("/v2/man/deltag/manifests/one");
        await AssertErrorAsync(gone, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/man/deltag/manifests/two")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/man/deltag/manifests/{digest}")).StatusCode);
        using var again = await _client.DeleteAsync("/v2/man/deltag/manifests/one");
        await AssertErrorAsync(again, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task DeleteByDigest_RemovesTheManifestAndItsTags()
    {
        var manifest = await _client.PushImageBlobsAsync("man/deldigest", layerCount: 1);
        var digest = Sha256(Encoding.UTF8.GetBytes(manifest));
        await (await _client.PutManifestAsync("man/deldigest", "one", manifest, DockerManifest)).EnsureCreatedAsync();
        await (await _client.PutManifestAsync("man/deldigest", "two", manifest, DockerManifest)).EnsureCreatedAsync();

        using var deleted = await _client.DeleteAsync($"/v2/man/deldigest/manifests/{digest}");
        Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);

        foreach (var reference in new[] { "one", "two", digest })
        {
            using var get = await _client.GetAsync($"/v2/man/deldigest/manifests/{reference}");
            await AssertErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        using var tags = await _client.GetAsync("/v2/man/deldigest/tags/list");
        Assert.Equal("""{"name":"man/deldigest","tags":[]}""", await tags.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"schemaVersion":1}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}""")]
    [InlineData("""{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:nope","size":1},"layers":[]}""")]
    [InlineData("""{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":-1},"layers":[]}""")]
    public async Task InvalidManifest_IsManifestInvalid(string body)
    {
        using var put = await _client.PutManifestAsync("man/invalid", "v1", body, DockerManifest);
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task MismatchedContentTypeAndMediaType_IsManifestInvalid()
    {
        var manifest = await _client.PushImageBlobsAsync("man/mismatch", layerCount: 1);
        using var put = await _client.PutManifestAsync("man/mismatch", "v1", manifest, OciManifest);
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task OversizedManifest_Is413SizeInvalid()
    {
        var body = "{\"schemaVersion\":2,\"pad\":\"" + new string('x', (4 * 1024 * 1024) + 1) + "\"}";
        using var put = await _client.PutManifestAsync("man/huge", "v1", body, OciManifest);
        await AssertErrorAsync(put, HttpStatusCode.RequestEntityTooLarge, "SIZE_INVALID");
    }

    [Theory]
    [InlineData("sha256:xyz")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    public async Task MalformedDigestReference_Is400DigestInvalid_Everywhere(string reference)
    {
        using var get = await _client.GetAsync($"/v2/man/docker/manifests/{reference}");
        await AssertErrorAsync(get, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var put = await _client.PutManifestAsync("man/docker", reference, "{}", OciManifest);
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var delete = await _client.DeleteAsync($"/v2/man/docker/manifests/{reference}");
        await AssertErrorAsync(delete, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/man/docker/manifests/{reference}"));
        Assert.Equal(HttpStatusCode.BadRequest, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task InvalidTag_CannotBePushed_AndIsNotFoundWhenAskedFor()
    {
        var manifest = await _client.PushImageBlobsAsync("man/tags", layerCount: 1);
        await (await _client.PutManifestAsync("man/tags", "v1", manifest, DockerManifest)).EnsureCreatedAsync();

        using var put = await _client.PutManifestAsync("man/tags", ".hidden", manifest, DockerManifest);
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "TAG_INVALID");

        // OCI: a reference is a tag or a digest, and a manifest that is not found is a 404; a string that cannot be a
        // tag names nothing that exists (the conformance suites ask for ".INVALID_MANIFEST_NAME").
        foreach (var reference in new[] { "-x", ".INVALID_MANIFEST_NAME", new string('a', 129) })
        {
            using var get = await _client.GetAsync($"/v2/man/tags/manifests/{reference}");
            await AssertErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
            using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/man/tags/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
            using var delete = await _client.DeleteAsync($"/v2/man/tags/manifests/{reference}");
            await AssertErrorAsync(delete, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/man/tags/manifests/v1")).StatusCode);
    }

    [Fact]
    public async Task UnknownRepository_IsNameUnknown_UnknownTag_IsManifestUnknown()
    {
        using var repository = await _client.GetAsync("/v2/man/never/manifests/latest");
        await AssertErrorAsync(repository, HttpStatusCode.NotFound, "NAME_UNKNOWN");

        var manifest = await _client.PushImageBlobsAsync("man/known", layerCount: 1);
        await (await _client.PutManifestAsync("man/known", "v1", manifest, DockerManifest)).EnsureCreatedAsync();
        using var tag = await _client.GetAsync("/v2/man/known/manifests/v2");
        await AssertErrorAsync(tag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var digest = await _client.GetAsync($"/v2/man/known/manifests/{Sha256(RandomBytes(3))}");
        await AssertErrorAsync(digest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task Retagging_MovesTheTag_OldManifestStaysByDigest()
    {
        var first = await _client.PushImageBlobsAsync("man/retag", layerCount: 1);
        var second = await _client.PushImageBlobsAsync("man/retag", layerCount: 1);
        await (await _client.PutManifestAsync("man/retag", "latest", first, DockerManifest)).EnsureCreatedAsync();
        await (await _client.PutManifestAsync("man/retag", "latest", second, DockerManifest)).EnsureCreatedAsync();

        using var latest = await _client.GetAsync("/v2/man/retag/manifests/latest");
        Assert.Equal(second, await latest.Content.ReadAsStringAsync());
        using var old = await _client.GetAsync($"/v2/man/retag/manifests/{Sha256(Encoding.UTF8.GetBytes(first))}");
        Assert.Equal(first, await old.Content.ReadAsStringAsync());
    }

    private static JsonObject PlatformDescriptor(string digest, int size, string architecture)
    {
        var descriptor = Descriptor(DockerManifest, digest, size);
        descriptor["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
        return descriptor;
    }
}

internal static class ResponseAssertions
{
    public static async Task EnsureCreatedAsync(this HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"expected 201, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}

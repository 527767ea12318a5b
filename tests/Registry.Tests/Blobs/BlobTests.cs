using System.Net;
using System.Net.Http.Headers;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Blobs;

public sealed class BlobTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Get_ServesTheBytesWithDigestETagAndAcceptRanges()
    {
        var content = RandomBytes(100_000);
        var digest = await _client.PushBlobAsync("blobs/get", content);

        using var response = await _client.GetAsync($"/v2/blobs/get/blobs/{digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(content, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Equal($"\"{digest}\"", response.Headers.ETag!.Tag);
        Assert.Equal("bytes", response.Header("Accept-Ranges"));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(content.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Head_AnswersHeadersOnly()
    {
        var content = RandomBytes(1234);
        var digest = await _client.PushBlobAsync("blobs/head", content);

        using var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/blobs/head/blobs/{digest}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1234, response.Content.Headers.ContentLength);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Range_Answers206WithContentRange()
    {
        var content = RandomBytes(10_000);
        var digest = await _client.PushBlobAsync("blobs/range", content);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/blobs/range/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(100, 199);

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(content[100..200], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes 100-199/10000", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task UnsatisfiableRange_Answers416()
    {
        var digest = await _client.PushBlobAsync("blobs/range", RandomBytes(100));
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/blobs/range/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(5000, 6000);

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */100", response.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task UnknownBlob_IsBlobUnknown_AndHeadHasNoBody()
    {
        var digest = Sha256(RandomBytes(8));
        using var get = await _client.GetAsync($"/v2/blobs/unknown/blobs/{digest}");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/blobs/unknown/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal("registry/2.0", head.Header("Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task BlobOfAnotherRepository_IsNotReadableWithoutALink()
    {
        var digest = await _client.PushBlobAsync("blobs/private", RandomBytes(64));

        using var response = await _client.GetAsync($"/v2/blobs/elsewhere/blobs/{digest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task Delete_UnlinksTheBlobFromTheRepository()
    {
        var digest = await _client.PushBlobAsync("blobs/delete", RandomBytes(64));
        await _client.PushBlobAsync("blobs/keeper", RandomBytes(64));

        using var deleted = await _client.DeleteAsync($"/v2/blobs/delete/blobs/{digest}");
        Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);

        using var get = await _client.GetAsync($"/v2/blobs/delete/blobs/{digest}");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        using var again = await _client.DeleteAsync($"/v2/blobs/delete/blobs/{digest}");
        await AssertErrorAsync(again, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task BlobFileRemovedBehindTheRegistrysBack_Is404_Not500()
    {
        var digest = await _client.PushBlobAsync("blobs/vanished", RandomBytes(64));
        var hex = digest["sha256:".Length..];
        File.Delete(Path.Combine(app.DataDir, "blobs", "sha256", hex[..2], hex));

        using var response = await _client.GetAsync($"/v2/blobs/vanished/blobs/{digest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Theory]
    [InlineData("sha256:1234")]
    [InlineData("sha999:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("latest")]
    public async Task MalformedDigest_Is400DigestInvalid(string digest)
    {
        using var get = await _client.GetAsync($"/v2/blobs/bad/blobs/{digest}");
        await AssertErrorAsync(get, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var delete = await _client.DeleteAsync($"/v2/blobs/bad/blobs/{digest}");
        await AssertErrorAsync(delete, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/blobs/bad/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.BadRequest, head.StatusCode);
    }
}

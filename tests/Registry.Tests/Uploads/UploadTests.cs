using System.Net;
using System.Net.Http.Headers;
using Berth.Registry.Tests.Infrastructure;
using Berth.TestSupport;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Uploads;

public sealed class UploadTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task MonolithicPost_StoresBlob_AndAnswersCreatedWithDigest()
    {
        var content = RandomBytes(5000);
        var digest = Sha256(content);

        using var response = await _client.PostAsync($"/v2/mono/blobs/uploads/?digest={digest}", new ByteArrayContent(content));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/mono/blobs/{digest}", response.LocationPath());
        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/mono/blobs/{digest}"));
    }

    [Fact]
    public async Task StreamedPatchWithoutContentRange_ThenEmptyPut_AsDockerdSendsIt()
    {
        var content = RandomBytes(700_000);
        var digest = Sha256(content);
        using var start = await _client.PostAsync("/v2/streamed/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        Assert.Equal("0-0", start.Header("Range"));
        Assert.False(string.IsNullOrEmpty(start.Header("Docker-Upload-UUID")));
        var location = start.LocationPath();
        Assert.Contains("?", location, StringComparison.Ordinal);

        // No Content-Length: HttpClient sends it with Transfer-Encoding: chunked.
        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(new MemoryStream(content)) };
        patch.Headers.TransferEncodingChunked = true;
        using var patched = await _client.SendAsync(patch).WithTimeout();
        Assert.Equal(HttpStatusCode.Accepted, patched.StatusCode);
        Assert.Equal($"0-{content.Length - 1}", patched.Header("Range"));

        using var put = await _client.PutAsync($"{patched.LocationPath()}&digest={digest}", null).WithTimeout();
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/streamed/app/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(content.Length, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task ChunkedPatchesWithContentRange_ThenPutWithLastChunk()
    {
        var content = RandomBytes(30_000);
        var digest = Sha256(content);
        using var start = await _client.PostAsync("/v2/chunked/blobs/uploads/", null);
        var location = start.LocationPath();

        foreach (var (from, to) in new[] { (0, 9_999), (10_000, 19_999) })
        {
            using var response = await PatchAsync(location, content[from..(to + 1)], $"{from}-{to}");
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal($"0-{to}", response.Header("Range"));
            location = response.LocationPath();
        }

        var last = new ByteArrayContent(content[20_000..]);
        last.Headers.TryAddWithoutValidation("Content-Range", "20000-29999");
        using var put = await _client.PutAsync($"{location}&digest={digest}", last);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/chunked/blobs/{digest}"));
    }

    [Fact]
    public async Task OutOfOrderChunk_Gets416_WithTheRangeToResumeFrom()
    {
        var content = RandomBytes(2_000);
        using var start = await _client.PostAsync("/v2/ooo/blobs/uploads/", null);
        using var first = await PatchAsync(start.LocationPath(), content[..1000], "0-999");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);

        using var skipped = await PatchAsync(first.LocationPath(), content[1500..], "1500-1999");
        await AssertErrorAsync(skipped, HttpStatusCode.RequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID");
        Assert.Equal("0-999", skipped.Header("Range"));

        using var repeated = await PatchAsync(first.LocationPath(), content[..1000], "0-999");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, repeated.StatusCode);

        // The upload is intact: the right chunk continues it.
        using var next = await PatchAsync(first.LocationPath(), content[1000..], "1000-1999");
        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
        using var put = await _client.PutAsync($"{next.LocationPath()}&digest={Sha256(content)}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task ContentRange_InRfcSpelling_IsAccepted()
    {
        var content = RandomBytes(200);
        using var start = await _client.PostAsync("/v2/rfcrange/blobs/uploads/", null);
        using var first = await PatchAsync(start.LocationPath(), content[..100], "bytes 0-99/200");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        using var second = await PatchAsync(first.LocationPath(), content[100..], "bytes 100-199/*");
        Assert.Equal("0-199", second.Header("Range"));
        using var bad = await PatchAsync(second.LocationPath(), content, "bytes x-y");
        await AssertErrorAsync(bad, HttpStatusCode.RequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID");
    }

    [Fact]
    public async Task Status_Answers204WithRange()
    {
        using var start = await _client.PostAsync("/v2/status/blobs/uploads/", null);
        using var empty = await _client.GetAsync(start.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        Assert.Equal("0-0", empty.Header("Range"));

        using var patched = await PatchAsync(start.LocationPath(), RandomBytes(123), null);
        using var status = await _client.GetAsync(start.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-122", status.Header("Range"));
        Assert.Equal(start.Header("Docker-Upload-UUID"), status.Header("Docker-Upload-UUID"));
    }

    [Fact]
    public async Task Delete_CancelsTheUpload()
    {
        using var start = await _client.PostAsync("/v2/cancel/blobs/uploads/", null);
        using var deleted = await _client.DeleteAsync(start.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        using var status = await _client.GetAsync(start.LocationPath());
        await AssertErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var again = await _client.DeleteAsync(start.LocationPath());
        await AssertErrorAsync(again, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Empty(Directory.GetFiles(Path.Combine(app.DataDir, "uploads"), start.Header("Docker-Upload-UUID")));
    }

    [Fact]
    public async Task WrongDigest_IsDigestInvalid_AndNothingIsStored()
    {
        var content = RandomBytes(1000);
        var claimed = Sha256(RandomBytes(10));
        using var start = await _client.PostAsync("/v2/wrong/blobs/uploads/", null);
        using var patched = await PatchAsync(start.LocationPath(), content, null);

        using var put = await _client.PutAsync($"{patched.LocationPath()}&digest={claimed}", null);
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/wrong/blobs/{claimed}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        using var headReal = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/wrong/blobs/{Sha256(content)}"));
        Assert.Equal(HttpStatusCode.NotFound, headReal.StatusCode);
        Assert.False(File.Exists(BlobPath(claimed)));
        Assert.False(File.Exists(BlobPath(Sha256(content))));

        using var monolithic = await _client.PostAsync($"/v2/wrong/blobs/uploads/?digest={claimed}", new ByteArrayContent(content));
        await AssertErrorAsync(monolithic, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(app.DataDir, "uploads")), f => File.ReadAllBytes(f).AsSpan().SequenceEqual(content));
    }

    [Fact]
    public async Task Sha512_WithDigestAlgorithmHint_AndWithout()
    {
        var content = RandomBytes(4096);
        var digest = Sha512(content);

        using var hinted = await _client.PostAsync("/v2/sha512/blobs/uploads/?digest-algorithm=sha512", null);
        Assert.Equal(HttpStatusCode.Accepted, hinted.StatusCode);
        using var patched = await PatchAsync(hinted.LocationPath(), content, null);
        using var put = await _client.PutAsync($"{patched.LocationPath()}&digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Header("Docker-Content-Digest"));

        // Without the hint the registry streamed sha256 and hashes again at PUT.
        var other = RandomBytes(999);
        using var plain = await _client.PostAsync("/v2/sha512/blobs/uploads/", null);
        using var patchedPlain = await PatchAsync(plain.LocationPath(), other, null);
        using var putPlain = await _client.PutAsync($"{patchedPlain.LocationPath()}&digest={Sha512(other)}", null);
        Assert.Equal(HttpStatusCode.Created, putPlain.StatusCode);

        using var monolithic = await _client.PostAsync($"/v2/sha512/blobs/uploads/?digest={Sha512(content[..100])}", new ByteArrayContent(content[..100]));
        Assert.Equal(HttpStatusCode.Created, monolithic.StatusCode);

        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/sha512/blobs/{digest}"));
        Assert.True(File.Exists(BlobPath(digest)));

        using var unsupported = await _client.PostAsync("/v2/sha512/blobs/uploads/?digest-algorithm=md5", null);
        await AssertErrorAsync(unsupported, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("nonsense")]
    [InlineData("sha256:..%2F..%2Fetc")]
    public async Task MalformedDigest_IsAlways400(string digest)
    {
        var escaped = Uri.EscapeDataString(digest);
        using var monolithic = await _client.PostAsync($"/v2/baddigest/blobs/uploads/?digest={escaped}", new ByteArrayContent([1, 2, 3]));
        await AssertErrorAsync(monolithic, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        using var start = await _client.PostAsync("/v2/baddigest/blobs/uploads/", null);
        using var put = await _client.PutAsync($"{start.LocationPath()}&digest={escaped}", new ByteArrayContent([1, 2, 3]));
        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        using var mount = await _client.PostAsync($"/v2/baddigest/blobs/uploads/?mount={escaped}&from=other", null);
        await AssertErrorAsync(mount, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        using var missing = await _client.PutAsync(start.LocationPath(), null);
        await AssertErrorAsync(missing, HttpStatusCode.BadRequest, "DIGEST_INVALID");

        // The session survived the bad requests.
        using var status = await _client.GetAsync(start.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-0", status.Header("Range"));
    }

    [Fact]
    public async Task UnknownOrForeignUploadId_IsBlobUploadUnknown()
    {
        using var start = await _client.PostAsync("/v2/owner/blobs/uploads/", null);
        var id = start.Header("Docker-Upload-UUID");

        using var otherRepository = await _client.GetAsync($"/v2/intruder/blobs/uploads/{id}");
        await AssertErrorAsync(otherRepository, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var unknown = await _client.GetAsync($"/v2/owner/blobs/uploads/{Guid.NewGuid():N}");
        await AssertErrorAsync(unknown, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var traversal = await _client.PatchAsync("/v2/owner/blobs/uploads/..%2F..%2Fregistry.db", new ByteArrayContent([1]));
        await AssertErrorAsync(traversal, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task Location_IsAbsolute_FromForwardedHeaders()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v2/forwarded/blobs/uploads/");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "registry.example.com:8443");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal("https", location.Scheme);
        Assert.Equal("registry.example.com", location.Host);
        Assert.Equal(8443, location.Port);
        Assert.StartsWith("/v2/forwarded/blobs/uploads/", location.AbsolutePath, StringComparison.Ordinal);
        Assert.StartsWith("?_state=", location.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CrossRepositoryMount_WithFrom_LinksTheBlob()
    {
        var content = RandomBytes(2048);
        var digest = await _client.PushBlobAsync("mount/source", content);

        using var mounted = await _client.PostAsync($"/v2/mount/target/blobs/uploads/?mount={digest}&from=mount/source", null);
        Assert.Equal(HttpStatusCode.Created, mounted.StatusCode);
        Assert.Equal(digest, mounted.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/mount/target/blobs/{digest}", mounted.LocationPath());
        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/mount/target/blobs/{digest}"));

        // One global store: the bytes are on disk once.
        Assert.True(File.Exists(BlobPath(digest)));
    }

    [Fact]
    public async Task Mount_FromRepositoryWithoutTheBlob_StartsAnUploadSession()
    {
        var digest = Sha256(RandomBytes(10));
        using var response = await _client.PostAsync($"/v2/mount/nothing/blobs/uploads/?mount={digest}&from=mount/empty", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("/v2/mount/nothing/blobs/uploads/", response.LocationPath(), StringComparison.Ordinal);
        using var status = await _client.GetAsync(response.LocationPath());
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
    }

    [Fact]
    public async Task Mount_WithoutFrom_LinksABlobTheCallerMayRead()
    {
        var content = RandomBytes(333);
        var digest = await _client.PushBlobAsync("mount/anywhere", content);

        using var response = await _client.PostAsync($"/v2/mount/nofrom/blobs/uploads/?mount={digest}", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(content, await _client.GetByteArrayAsync($"/v2/mount/nofrom/blobs/{digest}"));
    }

    [Fact]
    public async Task Mount_WithInvalidFromName_IsNameInvalid()
    {
        var digest = Sha256(RandomBytes(10));
        using var response = await _client.PostAsync($"/v2/mount/x/blobs/uploads/?mount={digest}&from=Bad..Name", null);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    private string BlobPath(string digest)
    {
        var (algorithm, hex) = (digest[..digest.IndexOf(':', StringComparison.Ordinal)], digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        return Path.Combine(app.DataDir, "blobs", algorithm, hex[..2], hex);
    }

    private async Task<HttpResponseMessage> PatchAsync(string location, byte[] chunk, string? contentRange)
    {
        var content = new ByteArrayContent(chunk);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (contentRange is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        }

        return await _client.PatchAsync(location, content).WithTimeout();
    }
}

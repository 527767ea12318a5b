using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.TestSupport;

namespace Berth.Registry.Tests.Conformance;

/// <summary>How a blob is pushed: the four upload workflows of the distribution spec.</summary>
public enum BlobPush
{
    /// <summary><c>POST ?digest=</c> with the whole blob.</summary>
    PostOnly,

    /// <summary><c>POST</c>, then <c>PUT &lt;location&gt;?digest=</c> with the whole blob.</summary>
    PostPut,

    /// <summary><c>POST</c>, <c>PATCH</c> chunks with <c>Content-Range</c>, then <c>PUT ?digest=</c>.</summary>
    Chunked,

    /// <summary><c>POST</c>, one <c>PATCH</c> of the whole blob without <c>Content-Range</c> or length, then <c>PUT ?digest=</c>.</summary>
    Stream,
}

/// <summary>
/// The requests of the conformance workflows, each with the assertions the spec puts on its answer. Everything goes
/// through a <see cref="ChallengeFollowingHandler"/>, so under auth every scope comes from the registry's challenges.
/// </summary>
public sealed class ConformanceClient(HttpClient client)
{
    public const int ChunkSize = 1024;

    public HttpClient Http { get; } = client;

    public static string BlobPath(string repository, string digest) => $"/v2/{repository}/blobs/{digest}";

    public static string ManifestPath(string repository, string reference) => $"/v2/{repository}/manifests/{reference}";

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathOrUrl, HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, pathOrUrl) { Content = content };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await Http.SendAsync(request).WithTimeout();
    }

    /// <summary>Pushes a blob the way <paramref name="how"/> says and checks the answers; for a corrupted blob, that the upload fails.</summary>
    public async Task PushBlobAsync(string repository, string digest, byte[] bytes, BlobPush how, bool badDigest = false, int chunks = 3, bool putLastChunk = false, bool outOfOrder = false)
    {
        switch (how)
        {
            case BlobPush.PostOnly:
            {
                using var post = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", Octets(bytes));
                await FinishAsync(post, digest, bytes, badDigest);
                return;
            }

            case BlobPush.PostPut:
            {
                var location = await StartUploadAsync(repository);
                using var put = await SendAsync(HttpMethod.Put, WithDigest(location, digest), Octets(bytes));
                await FinishAsync(put, digest, bytes, badDigest);
                return;
            }

            case BlobPush.Stream:
            {
                var location = await StartUploadAsync(repository);
                // No Content-Length, no Content-Range: one streamed chunk, as dockerd sends a layer.
                var body = new StreamContent(new MemoryStream(bytes));
                body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = body };
                request.Headers.TransferEncodingChunked = true;
                using var patch = await Http.SendAsync(request).WithTimeout();
                await ExpectAsync(patch, HttpStatusCode.Accepted);
                Assert.Equal($"0-{bytes.Length - 1}", Header(patch, "Range"));
                using var put = await SendAsync(HttpMethod.Put, WithDigest(Location(patch), digest), Octets([]));
                await FinishAsync(put, digest, bytes, badDigest);
                return;
            }

            default:
                await PushChunkedAsync(repository, digest, bytes, badDigest, chunks, putLastChunk, outOfOrder);
                return;
        }
    }

    /// <summary>
    /// A chunked upload. Out of order, each chunk is first sent at a wrong offset (past the next one, or back at 0 at
    /// the end): the spec's 416, after which the upload's status (204, <c>Range: 0-&lt;last&gt;</c>) says where to go on.
    /// </summary>
    private async Task PushChunkedAsync(string repository, string digest, byte[] bytes, bool badDigest, int chunks, bool putLastChunk, bool outOfOrder)
    {
        using var start = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", Octets([]));
        await ExpectAsync(start, HttpStatusCode.Accepted);
        var location = Location(start);
        var chunkSize = Math.Max(1, Math.Max(ChunkSize, (bytes.Length / chunks) + 1));
        chunkSize = Math.Min(chunkSize, Math.Max(bytes.Length, 1));
        var last = -1;
        while (last < bytes.Length - 1)
        {
            if (outOfOrder)
            {
                var badStart = last + 1 + chunkSize >= bytes.Length ? 0 : last + 1 + chunkSize;
                var badEnd = Math.Min(badStart + chunkSize - 1, bytes.Length - 1);
                var badIsLast = putLastChunk && badEnd == bytes.Length - 1;
                using var bad = await SendAsync(
                    badIsLast ? HttpMethod.Put : HttpMethod.Patch,
                    badIsLast ? WithDigest(location, digest) : location,
                    Octets(bytes[badStart..(badEnd + 1)]),
                    ("Content-Range", $"{badStart}-{badEnd}"));
                await ExpectAsync(bad, HttpStatusCode.RequestedRangeNotSatisfiable);
                using var status = await SendAsync(HttpMethod.Get, location);
                await ExpectAsync(status, HttpStatusCode.NoContent);
                var range = Header(status, "Range");
                Assert.StartsWith("0-", range, StringComparison.Ordinal);
                if (last >= 0)
                {
                    Assert.Equal($"0-{last}", range);
                }

                location = Location(status);
            }

            var first = last + 1;
            last = Math.Min(first + chunkSize - 1, bytes.Length - 1);
            var chunk = Octets(bytes[first..(last + 1)]);
            if (putLastChunk && last == bytes.Length - 1)
            {
                using var put = await SendAsync(HttpMethod.Put, WithDigest(location, digest), chunk, ("Content-Range", $"{first}-{last}"));
                await FinishAsync(put, digest, bytes, badDigest);
                return;
            }

            using var patch = await SendAsync(HttpMethod.Patch, location, chunk, ("Content-Range", $"{first}-{last}"));
            await ExpectAsync(patch, HttpStatusCode.Accepted);
            Assert.Equal($"0-{last}", Header(patch, "Range"));
            location = Location(patch);
        }

        using var close = await SendAsync(HttpMethod.Put, WithDigest(location, digest), Octets([]));
        await FinishAsync(close, digest, bytes, badDigest);
    }

    public async Task<string> StartUploadAsync(string repository)
    {
        using var post = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        await ExpectAsync(post, HttpStatusCode.Accepted);
        return Location(post);
    }

    /// <summary>The end of an upload: 201 with a pullable Location and the digest, or 400 DIGEST_INVALID for a corrupted blob.</summary>
    private async Task FinishAsync(HttpResponseMessage response, string digest, byte[] bytes, bool badDigest)
    {
        if (badDigest)
        {
            await ExpectErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
            return;
        }

        await ExpectAsync(response, HttpStatusCode.Created);
        Assert.Equal(digest, Header(response, "Docker-Content-Digest"));
        using var pulled = await SendAsync(HttpMethod.Get, Location(response));
        await ExpectAsync(pulled, HttpStatusCode.OK);
        Assert.Equal(bytes, await pulled.Content.ReadAsByteArrayAsync());
    }

    /// <summary>HEAD: 200, no body, the blob's length and digest.</summary>
    public async Task HeadBlobAsync(string repository, string digest, long length)
    {
        using var head = await SendAsync(HttpMethod.Head, BlobPath(repository, digest));
        await ExpectAsync(head, HttpStatusCode.OK);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(length, head.Content.Headers.ContentLength);
        Assert.Equal(digest, Header(head, "Docker-Content-Digest"));
    }

    public async Task GetBlobAsync(string repository, string digest, byte[] bytes)
    {
        using var get = await SendAsync(HttpMethod.Get, BlobPath(repository, digest));
        await ExpectAsync(get, HttpStatusCode.OK);
        Assert.Equal(bytes, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(bytes.Length, get.Content.Headers.ContentLength);
        Assert.Equal(digest, Header(get, "Docker-Content-Digest"));
    }

    /// <summary>DELETE: 202, and the blob is gone at once (HEAD 404).</summary>
    public async Task DeleteBlobAsync(string repository, string digest)
    {
        using var delete = await SendAsync(HttpMethod.Delete, BlobPath(repository, digest));
        await ExpectAsync(delete, HttpStatusCode.Accepted);
        using var head = await SendAsync(HttpMethod.Head, BlobPath(repository, digest));
        await ExpectAsync(head, HttpStatusCode.NotFound);
    }

    /// <summary>PUT a manifest with its media type; 201, the digest, a Location that serves the same bytes.</summary>
    public async Task<HttpResponseMessage> PutManifestAsync(string repository, string reference, byte[] bytes, string mediaType, string expectedDigest, IReadOnlyList<string>? tagParameters = null)
    {
        var path = ManifestPath(repository, reference);
        if (tagParameters is { Count: > 0 })
        {
            path += "?" + string.Join('&', tagParameters.Select(t => "tag=" + Uri.EscapeDataString(t)));
        }

        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        var put = await SendAsync(HttpMethod.Put, path, content);
        await ExpectAsync(put, HttpStatusCode.Created);
        Assert.Equal(expectedDigest, Header(put, "Docker-Content-Digest"));
        using var location = await SendAsync(HttpMethod.Get, Location(put), null, Accept);
        await ExpectAsync(location, HttpStatusCode.OK);
        Assert.Equal(bytes, await location.Content.ReadAsByteArrayAsync());
        Assert.Equal(mediaType, location.Content.Headers.ContentType?.MediaType);
        return put;
    }

    /// <summary>GET (or HEAD) a manifest with the suites' Accept list: 200, the media type, length, digest and (GET) bytes.</summary>
    public async Task GetManifestAsync(string repository, string reference, string digest, byte[] bytes, string mediaType, bool head)
    {
        using var response = await SendAsync(head ? HttpMethod.Head : HttpMethod.Get, ManifestPath(repository, reference), null, Accept);
        await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        Assert.Equal(digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(head ? [] : bytes, await response.Content.ReadAsByteArrayAsync());
    }

    public async Task<List<string>> TagsAsync(string repository, string query = "")
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/tags/list{query}");
        await ExpectAsync(response, HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!)];
    }

    /// <summary>GET referrers: 200, an OCI index (media type, schemaVersion 2) whatever the subject.</summary>
    public async Task<(List<JsonElement> Manifests, string? FiltersApplied)> ReferrersAsync(string repository, string subject, string? artifactType = null)
    {
        var path = $"/v2/{repository}/referrers/{subject}" + (artifactType is null ? string.Empty : "?artifactType=" + Uri.EscapeDataString(artifactType));
        using var response = await SendAsync(HttpMethod.Get, path);
        await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal(ConformanceDataSet.OciIndex, response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, json.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(ConformanceDataSet.OciIndex, json.RootElement.GetProperty("mediaType").GetString());
        var filters = response.Headers.TryGetValues("OCI-Filters-Applied", out var values) ? string.Join(',', values) : null;
        return ([.. json.RootElement.GetProperty("manifests").EnumerateArray().Select(m => m.Clone())], filters);
    }

    public static readonly (string, string)[] Accept = [("Accept", ConformanceDataSet.OciIndex), ("Accept", ConformanceDataSet.OciManifest)];

    public static ByteArrayContent Octets(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    public static string WithDigest(string location, string digest) =>
        location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest);

    public static string Location(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new Xunit.Sdk.XunitException($"{(int)response.StatusCode} without a Location header");
        return location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues)
        : throw new Xunit.Sdk.XunitException($"{(int)response.StatusCode} without a {name} header");

    public static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        if (response.StatusCode != status)
        {
            var body = response.RequestMessage?.Method == HttpMethod.Head ? string.Empty : await response.Content.ReadAsStringAsync();
            throw new Xunit.Sdk.XunitException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)status}, got {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>The spec's error answer: the status, and a JSON body whose first error has <paramref name="code"/>.</summary>
    public static async Task ExpectErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        await ExpectAsync(response, status);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }
}

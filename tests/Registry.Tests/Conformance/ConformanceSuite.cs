using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using static Berth.Registry.Tests.Conformance.ConformanceClient;

namespace Berth.Registry.Tests.Conformance;

/// <summary>
/// Every check of the OCI distribution-spec conformance suites (release v1.1.1 and the main branch, all workflows and
/// options: pull, push, content discovery, content management, automatic content discovery for mounts, referrers, tag
/// parameters, sparse manifests, sha512), written against the spec's words and run in-process, once per auth mode
/// (the derived classes). docs/registry.md ("Conformance") maps each suite check to the test here that covers it.
/// Every test works in repositories of its own under <c>conformance/</c>.
/// </summary>
public abstract class ConformanceSuite : IDisposable
{
    private readonly ConformanceRegistry _registry;
    private readonly ChallengeFollowingHandler _handler;
    private readonly ITestOutputHelper _output;
    private readonly string _run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    protected ConformanceSuite(ConformanceRegistry registry, TokenMode mode, ITestOutputHelper output)
    {
        _registry = registry;
        _output = output;
        var (http, handler) = registry.CreateClient(mode);
        _handler = handler;
        Client = new ConformanceClient(http);
        Mode = registry.Auth ? mode : TokenMode.None;
    }

    private ConformanceClient Client { get; }

    private TokenMode Mode { get; }

    public void Dispose()
    {
        // What the client did, for the reader of a failure: every request, its status and the challenges it met.
        foreach (var exchange in _handler.Exchanges)
        {
            _output.WriteLine($"{exchange.Method} {exchange.PathAndQuery} -> {(int)exchange.Status} {string.Join(" | ", exchange.Challenges)}");
        }

        Client.Http.Dispose();
        GC.SuppressFinalize(this);
    }

    public static IEnumerable<object[]> Algorithms => [["sha256"], ["sha512"]];

    public static IEnumerable<object[]> DataSets => ConformanceData.All;

    private string Repository(string what) => $"{ConformanceRegistry.Namespace}/{what}-{_run}";

    private static (string Digest, byte[] Bytes) Blob(string algorithm, int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        return (DigestOf(bytes, algorithm), bytes);
    }

    private static string DigestOf(byte[] bytes, string algorithm) => algorithm == "sha512"
        ? "sha512:" + Convert.ToHexStringLower(SHA512.HashData(bytes))
        : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    // --- Ping and empty repositories -------------------------------------------------------------------------------

    [Fact]
    public async Task Ping_ApiVersionCheck_Is200()
    {
        using var response = await Client.SendAsync(HttpMethod.Get, "/v2/");

        await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task EmptyRepository_TagListIs200Or404_AndReferrersIsAnEmptyIndex()
    {
        var repository = Repository("empty");

        using var tags = await Client.SendAsync(HttpMethod.Get, $"/v2/{repository}/tags/list");
        var (referrers, _) = await Client.ReferrersAsync(repository, DigestOf(RandomNumberGenerator.GetBytes(16), "sha256"));

        Assert.Contains(tags.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.NotFound });
        Assert.Empty(referrers);
    }

    // --- Blob workflows (per digest algorithm) ---------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_GetAndHeadMissing_Are404BlobUnknown(string algorithm)
    {
        var repository = Repository("blobs");
        var missing = Blob(algorithm, 512).Digest;

        using var get = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, missing));
        using var head = await Client.SendAsync(HttpMethod.Head, BlobPath(repository, missing));

        await ExpectErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        await ExpectAsync(head, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("sha256", BlobPush.PostOnly)]
    [InlineData("sha256", BlobPush.PostPut)]
    [InlineData("sha256", BlobPush.Stream)]
    [InlineData("sha512", BlobPush.PostOnly)]
    [InlineData("sha512", BlobPush.PostPut)]
    [InlineData("sha512", BlobPush.Stream)]
    public async Task Blob_Push_ThenHeadGetDelete(string algorithm, BlobPush how)
    {
        var repository = Repository("blobs");
        var (digest, bytes) = Blob(algorithm, 512);

        await Client.PushBlobAsync(repository, digest, bytes, how);

        await Client.HeadBlobAsync(repository, digest, bytes.Length);
        await Client.GetBlobAsync(repository, digest, bytes);
        await Client.DeleteBlobAsync(repository, digest);
    }

    [Theory]
    [InlineData("sha256", 512, false, false)]
    [InlineData("sha256", 3067, false, false)]
    [InlineData("sha256", 3067, true, false)]
    [InlineData("sha256", 3067, false, true)]
    [InlineData("sha256", 3067, true, true)]
    [InlineData("sha512", 512, false, false)]
    [InlineData("sha512", 3067, false, false)]
    [InlineData("sha512", 3067, true, false)]
    [InlineData("sha512", 3067, false, true)]
    [InlineData("sha512", 3067, true, true)]
    public async Task Blob_Chunked_SingleMultiPutLastOutOfOrder(string algorithm, int size, bool putLastChunk, bool outOfOrder)
    {
        var repository = Repository("chunked");
        var (digest, bytes) = Blob(algorithm, size);

        await Client.PushBlobAsync(repository, digest, bytes, BlobPush.Chunked, putLastChunk: putLastChunk, outOfOrder: outOfOrder);

        await Client.HeadBlobAsync(repository, digest, bytes.Length);
        await Client.GetBlobAsync(repository, digest, bytes);
        await Client.DeleteBlobAsync(repository, digest);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_Mount_FromAnotherRepository_Is201(string algorithm)
    {
        var target = Repository("mount-target");
        var source = Repository("mount-source");
        var (digest, bytes) = Blob(algorithm, 512);
        await Client.PushBlobAsync(source, digest, bytes, BlobPush.PostPut);
        // Something pushed to the target first: a client that keeps tokens now holds one for the target alone.
        var (otherDigest, other) = Blob(algorithm, 64);
        await Client.PushBlobAsync(target, otherDigest, other, BlobPush.PostOnly);

        using var mount = await Client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}&from={source}");

        await ExpectAsync(mount, HttpStatusCode.Created);
        Assert.Equal(digest, Header(mount, "Docker-Content-Digest"));
        Assert.Equal(BlobPath(target, digest), Location(mount));
        await Client.GetBlobAsync(target, digest, bytes);
        if (Mode != TokenMode.None)
        {
            // The challenge named the source's pull scope next to the target's push (as distribution does), so the
            // client's new token could mount; a client that kept a target-only token met insufficient_scope.
            var challenge = Assert.Single(_handler.Exchanges.Last(e => e.Method == HttpMethod.Post && e.PathAndQuery.Contains("mount=", StringComparison.Ordinal)).Challenges);
            Assert.Contains($"scope=\"repository:{target}:pull,push repository:{source}:pull\"", challenge, StringComparison.Ordinal);
            Assert.Equal(Mode == TokenMode.Cached, challenge.Contains("error=\"insufficient_scope\"", StringComparison.Ordinal));
        }

        await Client.HeadBlobAsync(target, digest, bytes.Length);
        await Client.DeleteBlobAsync(target, digest);
        await Client.DeleteBlobAsync(source, digest);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_MountWithoutFrom_AutomaticContentDiscovery_Is201(string algorithm)
    {
        var target = Repository("anon-target");
        var source = Repository("anon-source");
        var (digest, bytes) = Blob(algorithm, 512);
        await Client.PushBlobAsync(source, digest, bytes, BlobPush.Stream);

        // The client cannot know (or ask a token for) the repository that holds the blob: the registry finds it.
        using var mount = await Client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}");

        await ExpectAsync(mount, HttpStatusCode.Created);
        Assert.Equal(digest, Header(mount, "Docker-Content-Digest"));
        await Client.GetBlobAsync(target, digest, bytes);
        await Client.HeadBlobAsync(target, digest, bytes.Length);
        await Client.DeleteBlobAsync(target, digest);
        await Client.DeleteBlobAsync(source, digest);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_MountOfABlobTheSourceDoesNotHave_Is202_AndTheUploadCompletes(string algorithm)
    {
        var target = Repository("missing-target");
        var source = Repository("missing-source");
        var (digest, bytes) = Blob(algorithm, 512);

        using var mount = await Client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={digest}&from={source}");

        // OCI: a mount the registry cannot do starts an upload session instead.
        await ExpectAsync(mount, HttpStatusCode.Accepted);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(mount), StringComparison.Ordinal);
        using var put = await Client.SendAsync(HttpMethod.Put, WithDigest(Location(mount), digest), Octets(bytes));
        await ExpectAsync(put, HttpStatusCode.Created);
        await Client.GetBlobAsync(target, digest, bytes);
        await Client.DeleteBlobAsync(target, digest);
    }

    [Fact]
    public async Task Blob_MountWithoutFrom_OfAnUnknownBlob_StartsAnUploadSession()
    {
        var target = Repository("crossmount");

        using var mount = await Client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={Blob("sha256", 11).Digest}");

        await ExpectAsync(mount, HttpStatusCode.Accepted);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(mount), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_UploadCancel_Is204_AndTheSessionIsGone(string algorithm)
    {
        var repository = Repository("cancel");
        var (digest, bytes) = Blob(algorithm, 512);
        var location = await Client.StartUploadAsync(repository);

        using var cancel = await Client.SendAsync(HttpMethod.Delete, location, Octets([]));

        await ExpectAsync(cancel, HttpStatusCode.NoContent);
        using var status = await Client.SendAsync(HttpMethod.Get, location);
        await ExpectErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var put = await Client.SendAsync(HttpMethod.Put, WithDigest(location, digest), Octets(bytes));
        await ExpectErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        using var get = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, digest));
        await ExpectAsync(get, HttpStatusCode.NotFound);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Blob_RangeRequests(string algorithm)
    {
        var repository = Repository("range");
        var (digest, bytes) = Blob(algorithm, 2048);
        await Client.PushBlobAsync(repository, digest, bytes, BlobPush.PostOnly);

        await RangeAsync("bytes=500-1499", 500, 1499);
        await RangeAsync("bytes=500-", 500, 2047);
        await RangeAsync("bytes=-500", 1548, 2047);
        await RangeAsync("bytes=2000-5000", 2000, 2047);
        // Unsatisfiable: the last byte before the first, and a range that starts past the end.
        await UnsatisfiableAsync("bytes=500-0");
        await UnsatisfiableAsync("bytes=5000-10000");
        await Client.DeleteBlobAsync(repository, digest);

        async Task RangeAsync(string range, int first, int last)
        {
            using var response = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, digest), null, ("Range", range));
            await ExpectAsync(response, HttpStatusCode.PartialContent);
            Assert.Equal(bytes[first..(last + 1)], await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(last - first + 1, response.Content.Headers.ContentLength);
            Assert.Equal($"bytes {first}-{last}/{bytes.Length}", Header(response, "Content-Range"));
        }

        async Task UnsatisfiableAsync(string range)
        {
            using var response = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, digest), null, ("Range", range));
            await ExpectAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable);
            Assert.Equal($"bytes */{bytes.Length}", Header(response, "Content-Range"));
        }
    }

    [Theory]
    [InlineData("sha256", "")]
    [InlineData("sha256", "{}")]
    [InlineData("sha512", "")]
    [InlineData("sha512", "{}")]
    public async Task Blob_EmptyAndEmptyJson_PushHeadGetDelete(string algorithm, string text)
    {
        var repository = Repository("well-known");
        var bytes = Encoding.UTF8.GetBytes(text);
        var digest = DigestOf(bytes, algorithm);

        await Client.PushBlobAsync(repository, digest, bytes, BlobPush.PostPut);

        await Client.HeadBlobAsync(repository, digest, bytes.Length);
        await Client.GetBlobAsync(repository, digest, bytes);
        await Client.DeleteBlobAsync(repository, digest);
    }

    [Theory]
    [InlineData("sha256", BlobPush.PostOnly, false)]
    [InlineData("sha256", BlobPush.PostPut, false)]
    [InlineData("sha256", BlobPush.Chunked, false)]
    [InlineData("sha256", BlobPush.Chunked, true)]
    [InlineData("sha256", BlobPush.Stream, false)]
    [InlineData("sha512", BlobPush.PostOnly, false)]
    [InlineData("sha512", BlobPush.PostPut, false)]
    [InlineData("sha512", BlobPush.Chunked, false)]
    [InlineData("sha512", BlobPush.Chunked, true)]
    [InlineData("sha512", BlobPush.Stream, false)]
    public async Task Blob_BadDigest_Is400DigestInvalid_AndNothingIsStored(string algorithm, BlobPush how, bool putLastChunk)
    {
        var repository = Repository("bad-digest");
        var (digest, bytes) = Blob(algorithm, 3067);
        byte[] corrupted = [.. bytes, .. "oh no"u8];

        await Client.PushBlobAsync(repository, digest, corrupted, how, badDigest: true, putLastChunk: putLastChunk);

        foreach (var stored in new[] { digest, DigestOf(corrupted, algorithm) })
        {
            using var head = await Client.SendAsync(HttpMethod.Head, BlobPath(repository, stored));
            await ExpectAsync(head, HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task Blob_Chunked_RetryOfAnAcceptedChunk_Is416_AndStatusShowsTheRange()
    {
        var repository = Repository("retry");
        var (digest, bytes) = Blob("sha256", 42);
        var location = await Client.StartUploadAsync(repository);
        var firstRange = $"0-{21}";

        using var first = await Client.SendAsync(HttpMethod.Patch, location, Octets(bytes[..22]), ("Content-Range", firstRange));
        await ExpectAsync(first, HttpStatusCode.Accepted);
        Assert.Equal(firstRange, Header(first, "Range"));
        using var retry = await Client.SendAsync(HttpMethod.Patch, location, Octets(bytes[..22]), ("Content-Range", firstRange));
        await ExpectAsync(retry, HttpStatusCode.RequestedRangeNotSatisfiable);
        using var status = await Client.SendAsync(HttpMethod.Get, location);
        await ExpectAsync(status, HttpStatusCode.NoContent);
        Assert.Equal(firstRange, Header(status, "Range"));
        using var second = await Client.SendAsync(HttpMethod.Patch, Location(status), Octets(bytes[22..]), ("Content-Range", $"22-{bytes.Length - 1}"));
        await ExpectAsync(second, HttpStatusCode.Accepted);
        Assert.Equal($"0-{bytes.Length - 1}", Header(second, "Range"));
        using var put = await Client.SendAsync(HttpMethod.Put, WithDigest(Location(second), digest), Octets([]));

        await ExpectAsync(put, HttpStatusCode.Created);
        await Client.GetBlobAsync(repository, digest, bytes);
    }

    // --- Data sets: push, list, head, pull, referrers, delete ------------------------------------------------------

    [Theory]
    [MemberData(nameof(DataSets))]
    public async Task DataSet_PushListHeadPullReferrersDelete(string name)
    {
        var data = ConformanceData.Create(name);
        var repository = Repository(name);

        await PushAsync(data, repository);
        if (data.ExpectBadDigest)
        {
            await DeleteBlobsAsync(data, repository);
            return;
        }

        await ListAsync(data, repository);
        await HeadAndPullAsync(data, repository);
        await ReferrersAsync(data, repository);
        await DeleteAsync(data, repository);
    }

    private async Task PushAsync(ConformanceDataSet data, string repository)
    {
        var methods = Enum.GetValues<BlobPush>();
        var i = 0;
        foreach (var (digest, (bytes, _)) in data.Blobs)
        {
            await Client.PushBlobAsync(repository, digest, bytes, methods[i++ % methods.Length]);
        }

        var pushedTags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (digest, bytes, mediaType, subject) in data.Manifests)
        {
            if (data.ExpectBadDigest)
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
                using var bad = await Client.SendAsync(HttpMethod.Put, ManifestPath(repository, digest), content);
                await ExpectErrorAsync(bad, HttpStatusCode.BadRequest, "DIGEST_INVALID");
                using var missing = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, digest));
                await ExpectAsync(missing, HttpStatusCode.NotFound);
                continue;
            }

            var tags = data.TagParameters ? data.Tags.Where(t => t.Value == digest).Select(t => t.Key).ToList() : [];
            using var put = await Client.PutManifestAsync(repository, digest, bytes, mediaType, digest, tags);
            if (subject is not null)
            {
                // OCI 1.1: the registry says it processed the subject (so the client pushes no fallback tag).
                Assert.Equal(subject, Header(put, "OCI-Subject"));
            }

            if (tags.Count > 0)
            {
                var confirmed = put.Headers.GetValues("OCI-Tag").SelectMany(v => v.Split(',')).Select(t => t.Trim()).ToHashSet(StringComparer.Ordinal);
                Assert.Superset(tags.ToHashSet(StringComparer.Ordinal), confirmed);
                pushedTags.UnionWith(tags);
            }
        }

        foreach (var (tag, digest) in data.Tags.Where(t => !pushedTags.Contains(t.Key)))
        {
            var manifest = data.Manifests.Single(m => m.Digest == digest);
            using var put = await Client.PutManifestAsync(repository, tag, manifest.Bytes, manifest.MediaType, digest);
        }
    }

    private async Task ListAsync(ConformanceDataSet data, string repository)
    {
        var tags = await Client.TagsAsync(repository);
        Assert.Superset(data.Tags.Keys.ToHashSet(StringComparer.Ordinal), tags.ToHashSet(StringComparer.Ordinal));
        // The spec's order (Go's sort.Strings), and `last` continues after the tag it names.
        Assert.Equal(tags.Order(StringComparer.Ordinal), tags);
        if (tags.Count >= 2)
        {
            var last = tags[(tags.Count / 2) - 1];
            Assert.Equal(tags[(tags.Count / 2)..], await Client.TagsAsync(repository, "?last=" + Uri.EscapeDataString(last)));
        }
    }

    private async Task HeadAndPullAsync(ConformanceDataSet data, string repository)
    {
        foreach (var head in new[] { true, false })
        {
            foreach (var (tag, digest) in data.Tags)
            {
                var manifest = data.Manifests.Single(m => m.Digest == digest);
                await Client.GetManifestAsync(repository, tag, digest, manifest.Bytes, manifest.MediaType, head);
            }

            foreach (var (digest, bytes, mediaType, _) in data.Manifests)
            {
                await Client.GetManifestAsync(repository, digest, digest, bytes, mediaType, head);
            }
        }

        foreach (var (digest, (bytes, _)) in data.Blobs)
        {
            await Client.HeadBlobAsync(repository, digest, bytes.Length);
            await Client.GetBlobAsync(repository, digest, bytes);
        }

        // Sparse content was never pushed: the registry holds the manifests that name it, and answers 404 for it.
        foreach (var missing in data.Missing)
        {
            using var manifest = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, missing), null, Accept);
            await ExpectAsync(manifest, HttpStatusCode.NotFound);
            using var blob = await Client.SendAsync(HttpMethod.Head, BlobPath(repository, missing));
            await ExpectAsync(blob, HttpStatusCode.NotFound);
        }
    }

    private async Task ReferrersAsync(ConformanceDataSet data, string repository)
    {
        foreach (var (subject, expected) in data.Referrers)
        {
            var (all, unfiltered) = await Client.ReferrersAsync(repository, subject);
            Assert.Null(unfiltered);
            Assert.Equal(expected.Select(e => e.Digest).Order(StringComparer.Ordinal), all.Select(m => m.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal));
            foreach (var descriptor in expected)
            {
                AssertListed(all, descriptor);
            }

            foreach (var artifactType in expected.Select(e => e.ArtifactType).Where(t => t is not null).Distinct())
            {
                var (filtered, filters) = await Client.ReferrersAsync(repository, subject, artifactType);
                Assert.Contains("artifactType", filters?.Split(',').Select(f => f.Trim()) ?? [], StringComparer.Ordinal);
                Assert.All(filtered, m => Assert.Equal(artifactType, m.GetProperty("artifactType").GetString()));
                Assert.Equal(expected.Count(e => e.ArtifactType == artifactType), filtered.Count);
                foreach (var descriptor in expected.Where(e => e.ArtifactType == artifactType))
                {
                    AssertListed(filtered, descriptor);
                }
            }
        }
    }

    /// <summary>The referrer's descriptor: media type, size, artifactType (absent for an index without one), every annotation.</summary>
    private static void AssertListed(List<JsonElement> listed, ContentDescriptor expected)
    {
        var entry = Assert.Single(listed, m => m.GetProperty("digest").GetString() == expected.Digest);
        Assert.Equal(expected.MediaType, entry.GetProperty("mediaType").GetString());
        Assert.Equal(expected.Size, entry.GetProperty("size").GetInt64());
        Assert.Equal(expected.ArtifactType, entry.TryGetProperty("artifactType", out var type) ? type.GetString() : null);
        foreach (var (key, value) in expected.Annotations)
        {
            Assert.Equal(value, entry.GetProperty("annotations").GetProperty(key).GetString());
        }
    }

    private async Task DeleteAsync(ConformanceDataSet data, string repository)
    {
        foreach (var tag in data.Tags.Keys)
        {
            using var delete = await Client.SendAsync(HttpMethod.Delete, ManifestPath(repository, tag));
            await ExpectAsync(delete, HttpStatusCode.Accepted);
            using var head = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, tag), null, Accept);
            await ExpectAsync(head, HttpStatusCode.NotFound);
        }

        Assert.Empty((await Client.TagsAsync(repository)).Intersect(data.Tags.Keys));
        foreach (var (digest, _, _, _) in Enumerable.Reverse(data.Manifests))
        {
            using var delete = await Client.SendAsync(HttpMethod.Delete, ManifestPath(repository, digest));
            await ExpectAsync(delete, HttpStatusCode.Accepted);
            using var head = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, digest), null, Accept);
            await ExpectAsync(head, HttpStatusCode.NotFound);
            using var get = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, digest), null, Accept);
            await ExpectErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        await DeleteBlobsAsync(data, repository);
    }

    private async Task DeleteBlobsAsync(ConformanceDataSet data, string repository)
    {
        foreach (var digest in data.Blobs.Keys)
        {
            await Client.DeleteBlobAsync(repository, digest);
            using var get = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, digest));
            await ExpectErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        }
    }

    // --- Manifest errors -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Manifest_Missing_ByDigestAndByTag_Is404ManifestUnknown()
    {
        var repository = Repository("missing");
        var data = ConformanceData.Create("image");
        await PushAsync(data, repository);

        var digest = DigestOf(RandomNumberGenerator.GetBytes(1024), "sha256");
        using var byDigest = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, digest), null, Accept);
        using var byTag = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, "missing-" + _run), null, Accept);
        using var headByDigest = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, digest), null, Accept);
        using var headByTag = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, "missing-" + _run), null, Accept);

        await ExpectErrorAsync(byDigest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await ExpectErrorAsync(byTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await ExpectAsync(headByDigest, HttpStatusCode.NotFound);
        await ExpectAsync(headByTag, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Manifest_ReferenceThatIsNotATag_GetAndHeadAre404()
    {
        var repository = Repository("not-a-tag");
        await PushAsync(ConformanceData.Create("image"), repository);

        // The v1.1.1 suite's ".INVALID_MANIFEST_NAME": no such manifest can exist, so it is not found.
        using var get = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, ".INVALID_MANIFEST_NAME"), null, Accept);
        using var head = await Client.SendAsync(HttpMethod.Head, ManifestPath(repository, ".INVALID_MANIFEST_NAME"), null, Accept);

        await ExpectErrorAsync(get, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await ExpectAsync(head, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Manifest_InvalidDigestFormat_PutIs400_GetIs404Or400()
    {
        var repository = Repository("invalid-digest");
        var data = ConformanceData.Create("image");
        await PushAsync(data, repository);
        var manifest = data.Manifests[0];
        var content = new ByteArrayContent(manifest.Bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(manifest.MediaType);

        using var put = await Client.SendAsync(HttpMethod.Put, ManifestPath(repository, "sha256:baddigeststring"), content);
        using var get = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, "sha256:baddigeststring"), null, Accept);

        await ExpectErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Contains(get.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
    }

    [Fact]
    public async Task Manifest_InvalidBodyToAMalformedDigest_Is400WithASpecErrorCode()
    {
        var content = new ByteArrayContent("blablabla"u8.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ConformanceDataSet.OciManifest);

        using var put = await Client.SendAsync(HttpMethod.Put, ManifestPath(Repository("error-codes"), "sha256:totallywrong"), content);

        await ExpectAsync(put, HttpStatusCode.BadRequest);
        using var json = JsonDocument.Parse(await put.Content.ReadAsStringAsync());
        Assert.Contains(
            json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString(),
            new[] { "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS" });
    }

    // --- Content discovery and management as the v1.1.1 suite walks them ------------------------------------------

    [Fact]
    public async Task TagList_NLimitsThePage_AndLastContinuesAfterTheTagItNames()
    {
        var repository = Repository("tags");
        var data = ConformanceData.Create("image");
        await PushAsync(data, repository);
        var manifest = data.Manifests[0];
        for (var i = 0; i < 4; i++)
        {
            using var _ = await Client.PutManifestAsync(repository, $"test{i}", manifest.Bytes, manifest.MediaType, manifest.Digest);
        }

        var all = await Client.TagsAsync(repository);
        var half = all.Count / 2;
        var page = await Client.TagsAsync(repository, $"?n={half}");
        var next = await Client.TagsAsync(repository, $"?n={half}&last={Uri.EscapeDataString(page[^1])}");

        Assert.Equal(all[..half], page);
        Assert.Equal(all[half..(2 * half)], next);
        Assert.Empty(await Client.TagsAsync(repository, "?n=0"));
    }

    [Fact]
    public async Task ContentManagement_DeleteTagThenManifestThenBlob()
    {
        var repository = Repository("management");
        var data = ConformanceData.Create("image");
        await PushAsync(data, repository);
        var manifest = data.Manifests[0];
        using var _ = await Client.PutManifestAsync(repository, "tagtest0", manifest.Bytes, manifest.MediaType, manifest.Digest);
        var before = (await Client.TagsAsync(repository)).Count;

        using var deleteTag = await Client.SendAsync(HttpMethod.Delete, ManifestPath(repository, "tagtest0"));
        await ExpectAsync(deleteTag, HttpStatusCode.Accepted);
        using var deleteManifest = await Client.SendAsync(HttpMethod.Delete, ManifestPath(repository, manifest.Digest));
        await ExpectAsync(deleteManifest, HttpStatusCode.Accepted);
        using var getManifest = await Client.SendAsync(HttpMethod.Get, ManifestPath(repository, manifest.Digest), null, Accept);
        await ExpectAsync(getManifest, HttpStatusCode.NotFound);
        Assert.True((await Client.TagsAsync(repository)).Count < before);
        var config = data.Blobs.First(b => b.Value.MediaType == ConformanceDataSet.OciConfig).Key;
        using var deleteBlob = await Client.SendAsync(HttpMethod.Delete, BlobPath(repository, config));
        await ExpectAsync(deleteBlob, HttpStatusCode.Accepted);
        using var getBlob = await Client.SendAsync(HttpMethod.Get, BlobPath(repository, config));

        await ExpectAsync(getBlob, HttpStatusCode.NotFound);
    }
}

/// <summary>The conformance checks against the registry with auth off.</summary>
public sealed class ConformanceWithoutAuthTests(OpenConformanceRegistry registry, ITestOutputHelper output)
    : ConformanceSuite(registry, TokenMode.None, output), IClassFixture<OpenConformanceRegistry>;

/// <summary>Under token auth, with a client that keeps its tokens (the main-branch suite's default).</summary>
public sealed class ConformanceWithKeptTokensTests(TokenConformanceRegistry registry, ITestOutputHelper output)
    : ConformanceSuite(registry, TokenMode.Cached, output), IClassFixture<TokenConformanceRegistry>;

/// <summary>Under token auth, with a client that fetches a token for every request from its challenge (the v1.1.1 suite's).</summary>
public sealed class ConformanceWithTokenPerRequestTests(TokenConformanceRegistry registry, ITestOutputHelper output)
    : ConformanceSuite(registry, TokenMode.PerRequest, output), IClassFixture<TokenConformanceRegistry>;

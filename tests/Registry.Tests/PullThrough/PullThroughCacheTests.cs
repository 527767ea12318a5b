using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Registry.PullThrough;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Tests.SystemTests;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.PullThrough;

/// <summary>
/// The pull-through cache of a registry in process (token auth on, a clock the test moves) in front of real upstream
/// registries on loopback: Debian's docker-registry (CNCF distribution) and a second Berth registry with robot
/// credentials, sometimes behind <see cref="UpstreamProxy"/> to count, hold or falsify what the upstream sends.
/// </summary>
[Trait("Category", "System")]
public sealed class PullThroughCacheTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private static readonly string[] s_manifestTypes =
        [RegistryTestClient.OciIndex, RegistryTestClient.DockerManifestList, RegistryTestClient.OciManifest, RegistryTestClient.DockerManifest];

    private readonly AuthRegistryFactory _cache = new();
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync()
    {
        _cache.Settings["Registry:Gc:Enabled"] = "false";
        _cache.Settings["Registry:Lifecycle:Enabled"] = "false";
        return Task.CompletedTask;
    }

    public void Dispose() => _cache.Dispose();

    public async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }

        await _cache.DisposeAsync();
    }

    [Theory]
    [InlineData(RegistryKind.Distribution)]
    [InlineData(RegistryKind.Berth)]
    public async Task FirstPull_FetchesAndStores_LaterPullsAreLocal_EvenWithTheUpstreamStopped(RegistryKind kind)
    {
        // Arrange: an image upstream; Berth's upstream wants a token, and the rule pulls as a robot that may only pull.
        var upstream = await StartUpstreamAsync(kind);
        var image = await PushImageAsync(upstream, "library/app", "1", seed: 1);
        string? username = null, password = null;
        if (kind == RegistryKind.Berth)
        {
            var robot = await UpstreamAdmin(upstream).CreateRobotAsync(
                new CreateRobotRequest("puller", null, null, [new PermissionGrant("library/*", ["pull"])]), CancellationToken.None);
            (username, password) = (robot.Name, robot.Secret);
        }

        await CreateRuleAsync("hub", upstream.BaseAddress, username, password);

        // Act: the first pull, as docker pulls (manifest by tag, then every blob).
        var pulled = await PullAsync("hub/library/app", "1");

        // Assert: the same bytes as upstream, and a repository of this registry now.
        Assert.Equal(image.ManifestDigest, pulled.Digest);
        Assert.Equal(image.Manifest, pulled.Manifest);
        using (var described = await AdminHttp().GetAsync(OperationsApiPaths.Repository("hub/library/app")))
        {
            Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        }

        // The upstream goes away: pulls within the TTL, and after it (the re-check fails), are served from the cache.
        upstream.Kill();
        Assert.Equal(image.ManifestDigest, (await PullAsync("hub/library/app", "1")).Digest);
        _cache.Time.Advance(TimeSpan.FromHours(25));
        Assert.Equal(image.ManifestDigest, (await PullAsync("hub/library/app", "1")).Digest);
        Assert.Equal(image.ManifestDigest, (await PullAsync("hub/library/app", image.ManifestDigest)).Digest);

        // Something never cached cannot be served without the upstream: the spec's JSON, 503 UNAVAILABLE.
        using var client = await CacheClientAsync("hub/library/other");
        using var missing = await GetManifestAsync(client, "hub/library/other", "1");
        await RegistryTestClient.AssertErrorAsync(missing, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
    }

    [Fact]
    public async Task TagMovedUpstream_IsServedAsCachedWithinTheTtl_AndPickedUpAfterIt()
    {
        // Arrange
        var upstream = await StartUpstreamAsync(RegistryKind.Distribution);
        var proxy = await ProxyAsync(upstream);
        var first = await PushImageAsync(upstream, "library/app", "latest", seed: 1);
        await CreateRuleAsync("hub", proxy.BaseAddress);
        Assert.Equal(first.ManifestDigest, (await PullAsync("hub/library/app", "latest")).Digest);
        var second = await PushImageAsync(upstream, "library/app", "latest", seed: 2);

        // Act + Assert: within the TTL (24 h by default) the cached tag is served without asking the upstream.
        var headsBefore = proxy.Count("HEAD", "/manifests/latest");
        _cache.Time.Advance(TimeSpan.FromHours(23));
        Assert.Equal(first.ManifestDigest, (await PullAsync("hub/library/app", "latest")).Digest);
        Assert.Equal(headsBefore, proxy.Count("HEAD", "/manifests/latest"));

        // After it, a HEAD upstream sees the tag moved and the new image is fetched, blobs included.
        _cache.Time.Advance(TimeSpan.FromHours(2));
        var moved = await PullAsync("hub/library/app", "latest");
        Assert.Equal(second.ManifestDigest, moved.Digest);
        Assert.Equal(second.Manifest, moved.Manifest);
        Assert.Equal(headsBefore + 1, proxy.Count("HEAD", "/manifests/latest"));

        // The old image stays pullable by digest, from the cache.
        Assert.Equal(first.ManifestDigest, (await PullAsync("hub/library/app", first.ManifestDigest)).Digest);
    }

    [Fact]
    public async Task LyingUpstream_ContentThatDoesNotMatchItsDigest_IsNeverStoredOrServedWhole()
    {
        // Arrange
        var upstream = await StartUpstreamAsync(RegistryKind.Distribution);
        var proxy = await ProxyAsync(upstream);
        var image = await PushImageAsync(upstream, "library/app", "1", seed: 3);
        await CreateRuleAsync("hub", proxy.BaseAddress);
        using var client = await CacheClientAsync("hub/library/app");

        // A manifest whose bytes are not its digest's: 502 DIGEST_INVALID, by tag and by digest.
        proxy.LieAboutManifests = true;
        using (var byTag = await GetManifestAsync(client, "hub/library/app", "1"))
        {
            await RegistryTestClient.AssertErrorAsync(byTag, HttpStatusCode.BadGateway, "DIGEST_INVALID");
        }

        using (var byDigest = await GetManifestAsync(client, "hub/library/app", image.ManifestDigest))
        {
            await RegistryTestClient.AssertErrorAsync(byDigest, HttpStatusCode.BadGateway, "DIGEST_INVALID");
        }

        proxy.LieAboutManifests = false;
        Assert.Equal(image.ManifestDigest, (await PullManifestAsync(client, "hub/library/app", "1")).Digest);

        // A blob with a byte changed: the client never gets a whole, successful body, and nothing is stored.
        proxy.LieAboutBlobs = true;
        var layer = image.Blobs[1];
        var failed = await TryGetBlobAsync(client, "hub/library/app", layer.Digest);
        Assert.Null(failed);
        Assert.Equal(1, proxy.Count("GET", "/blobs/" + layer.Digest));

        // Act: the upstream tells the truth again.
        proxy.LieAboutBlobs = false;
        var good = await TryGetBlobAsync(client, "hub/library/app", layer.Digest);

        // Assert: fetched again (the lie was not kept), verified, served, and local from then on.
        Assert.Equal(layer.Content, good);
        Assert.Equal(2, proxy.Count("GET", "/blobs/" + layer.Digest));
        Assert.Equal(layer.Content, await TryGetBlobAsync(client, "hub/library/app", layer.Digest));
        Assert.Equal(2, proxy.Count("GET", "/blobs/" + layer.Digest));
    }

    [Fact]
    public async Task ConcurrentPullsOfOneBlob_MakeOneUpstreamRequest()
    {
        // Arrange: the upstream's blob GETs are held until every pull is under way.
        var upstream = await StartUpstreamAsync(RegistryKind.Distribution);
        var proxy = await ProxyAsync(upstream);
        var image = await PushImageAsync(upstream, "library/app", "1", seed: 4, layerBytes: 3 << 20);
        await CreateRuleAsync("hub", proxy.BaseAddress);
        using var client = await CacheClientAsync("hub/library/app");
        await PullManifestAsync(client, "hub/library/app", "1");
        var layer = image.Blobs[1];
        proxy.BlobGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = _cache.Services.GetRequiredService<PullThroughCache>();

        // Act: five pulls of the layer; the first reaches the upstream, the other four wait for its fetch.
        var pulls = new List<Task<byte[]?>> { TryGetBlobAsync(client, "hub/library/app", layer.Digest) };
        await proxy.BlobGetArrived.Task.WithTimeout();
        for (var i = 0; i < 4; i++)
        {
            pulls.Add(TryGetBlobAsync(client, "hub/library/app", layer.Digest));
        }

        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(cache.PullsWaiting == 4), what: "four pulls waiting for the first one's fetch");
        proxy.BlobGate.SetResult();
        var bodies = await Task.WhenAll(pulls).WithTimeout();

        // Assert: every pull got every byte; the upstream served the blob once.
        Assert.All(bodies, body => Assert.Equal(layer.Content, body));
        Assert.Equal(1, proxy.Count("GET", "/blobs/" + layer.Digest));
    }

    [Fact]
    public async Task PushIntoACachePrefix_IsDenied_AndAPullNeedsPullPermission()
    {
        // Arrange
        var upstream = await StartUpstreamAsync(RegistryKind.Distribution);
        var proxy = await ProxyAsync(upstream);
        await PushImageAsync(upstream, "library/app", "1", seed: 5);
        await CreateRuleAsync("hub", proxy.BaseAddress);
        using var client = await CacheClientAsync("hub/library/app", "pull,push");

        // Act + Assert: a blob upload and a manifest push, refused with DENIED saying why.
        using (var upload = await client.PostAsync("/v2/hub/library/app/blobs/uploads/", null))
        {
            var errors = await RegistryTestClient.AssertErrorAsync(upload, HttpStatusCode.Forbidden, "DENIED");
            Assert.Contains("pull through cache", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var put = await client.PutManifestAsync("hub/library/app", "2", "{}", RegistryTestClient.DockerManifest))
        {
            await RegistryTestClient.AssertErrorAsync(put, HttpStatusCode.Forbidden, "DENIED");
        }

        // An anonymous pull is challenged like any pull, and the upstream is not asked.
        using var anonymous = _cache.CreateClient();
        using var challenged = await GetManifestAsync(anonymous, "hub/library/app", "1");
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.Equal(0, proxy.Count("GET", "/manifests/"));
        Assert.Equal(0, proxy.Count("HEAD", "/manifests/"));
    }

    [Fact]
    public async Task RulesApi_CreateDescribeDelete_WithEcrErrors_AndPasswordsNeverShown()
    {
        // Arrange
        var admin = new RegistryAdminClient(AdminHttp(), null, null);

        // Act
        var created = await admin.CreatePullThroughCacheRuleAsync(
            new CreatePullThroughCacheRuleRequest("hub", "http://127.0.0.1:1", "robot$x", "s3cret"), CancellationToken.None);

        // Assert
        Assert.Equal(("hub", "http://127.0.0.1:1", "robot$x"), (created.EcrRepositoryPrefix, created.UpstreamRegistryUrl, created.Username));
        var described = await admin.DescribePullThroughCacheRulesAsync(null, CancellationToken.None);
        Assert.Equal("hub", Assert.Single(described.PullThroughCacheRules).EcrRepositoryPrefix);
        using (var raw = await AdminHttp().GetAsync(PullThroughApiPaths.Rules))
        {
            Assert.DoesNotContain("s3cret", await raw.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await AssertRefusedAsync(() => admin.CreatePullThroughCacheRuleAsync(new("hub", "https://other.example"), CancellationToken.None), HttpStatusCode.Conflict, "PullThroughCacheRuleAlreadyExistsException");
        await AssertRefusedAsync(() => admin.CreatePullThroughCacheRuleAsync(new("hub/library", "https://other.example"), CancellationToken.None), HttpStatusCode.BadRequest, "InvalidParameterException");
        await AssertRefusedAsync(() => admin.CreatePullThroughCacheRuleAsync(new("Hub", "https://other.example"), CancellationToken.None), HttpStatusCode.BadRequest, "InvalidParameterException");
        await AssertRefusedAsync(() => admin.CreatePullThroughCacheRuleAsync(new("quay", "ftp://quay.io"), CancellationToken.None), HttpStatusCode.BadRequest, "InvalidParameterException");
        await AssertRefusedAsync(() => admin.CreatePullThroughCacheRuleAsync(new("quay", "quay.io", "user", null), CancellationToken.None), HttpStatusCode.BadRequest, "InvalidParameterException");
        await AssertRefusedAsync(() => admin.DescribePullThroughCacheRulesAsync(["nope"], CancellationToken.None), HttpStatusCode.NotFound, "PullThroughCacheRuleNotFoundException");

        // A bare host is https, as ECR takes registry-1.docker.io.
        var bare = await admin.CreatePullThroughCacheRuleAsync(new("docker-hub", "registry-1.docker.io"), CancellationToken.None);
        Assert.Equal("https://registry-1.docker.io", bare.UpstreamRegistryUrl);

        var deleted = await admin.DeletePullThroughCacheRuleAsync("hub", CancellationToken.None);
        Assert.Equal("hub", deleted.EcrRepositoryPrefix);
        await AssertRefusedAsync(() => admin.DeletePullThroughCacheRuleAsync("hub", CancellationToken.None), HttpStatusCode.NotFound, "PullThroughCacheRuleNotFoundException");

        // Stored: a new instance on the same data has the remaining rule.
        var password = _cache.AdminPassword;
        _cache.KeepDataDir = true;
        await _cache.DisposeAsync();
        await using var again = new AuthRegistryFactory();
        again.Settings["Registry:DataDir"] = _cache.DataDir;
        var client = again.CreateClient();
        client.DefaultRequestHeaders.Authorization = AuthRegistryFactory.Basic("admin", password);
        var reloaded = await new RegistryAdminClient(client, null, null).DescribePullThroughCacheRulesAsync(null, CancellationToken.None);
        Assert.Equal("docker-hub", Assert.Single(reloaded.PullThroughCacheRules).EcrRepositoryPrefix);
        await again.DisposeAsync();
        Directory.Delete(_cache.DataDir, recursive: true);
    }

    private static async Task AssertRefusedAsync(Func<Task> call, HttpStatusCode status, string code)
    {
        var refused = await Assert.ThrowsAsync<RegistryApiException>(call);
        Assert.Equal(status, refused.StatusCode);
        Assert.Equal(code, Assert.Single(refused.Errors).Code);
    }

    private async Task<RegistryProcess> StartUpstreamAsync(RegistryKind kind)
    {
        var upstream = await RegistryProcess.StartAsync(Log, kind, new RegistryProcessOptions(Auth: kind == RegistryKind.Berth));
        _disposables.Add(upstream);
        return upstream;
    }

    private async Task<UpstreamProxy> ProxyAsync(RegistryProcess upstream)
    {
        var proxy = await UpstreamProxy.StartAsync(upstream.BaseAddress);
        _disposables.Add(proxy);
        return proxy;
    }

    private static RegistryAdminClient UpstreamAdmin(RegistryProcess upstream) =>
        new(new HttpClient { BaseAddress = upstream.BaseAddress }, "admin", upstream.AdminPassword);

    private HttpClient AdminHttp()
    {
        var client = _cache.CreateClient();
        client.DefaultRequestHeaders.Authorization = AuthRegistryFactory.Basic("admin", _cache.AdminPassword);
        return client;
    }

    private Task<PullThroughCacheRule> CreateRuleAsync(string prefix, Uri upstream, string? username = null, string? password = null) =>
        new RegistryAdminClient(AdminHttp(), null, null).CreatePullThroughCacheRuleAsync(
            new CreatePullThroughCacheRuleRequest(prefix, upstream.ToString(), username, password), CancellationToken.None);

    private async Task<HttpClient> CacheClientAsync(string repository, string actions = "pull")
    {
        var client = _cache.CreateClient();
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _cache.AdminPassword, $"repository:{repository}:{actions}");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>What docker does: the manifest by tag or digest, then every blob it references, each checked against its digest.</summary>
    private async Task<(string Digest, byte[] Manifest)> PullAsync(string repository, string reference)
    {
        using var client = await CacheClientAsync(repository);
        var pulled = await PullManifestAsync(client, repository, reference);
        var manifest = JsonNode.Parse(pulled.Manifest)!;
        foreach (var descriptor in manifest["layers"]!.AsArray().Prepend(manifest["config"]))
        {
            var digest = descriptor!["digest"]!.GetValue<string>();
            var body = await TryGetBlobAsync(client, repository, digest) ?? throw new Xunit.Sdk.XunitException($"{repository}@{digest} was not served whole");
            Assert.Equal(digest, RegistryTestClient.Sha256(body));
        }

        return pulled;
    }

    private static async Task<(string Digest, byte[] Manifest)> PullManifestAsync(HttpClient client, string repository, string reference)
    {
        using var response = await GetManifestAsync(client, repository, reference);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {repository}:{reference} -> {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        Assert.Equal(RegistryTestClient.Sha256(body), response.Header("Docker-Content-Digest"));
        return (RegistryTestClient.Sha256(body), body);
    }

    private static async Task<HttpResponseMessage> GetManifestAsync(HttpClient client, string repository, string reference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/{reference}");
        foreach (var type in s_manifestTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        return await client.SendAsync(request).WithTimeout();
    }

    /// <summary>The blob's bytes, or null when the registry refused or cut the body short.</summary>
    private async Task<byte[]?> TryGetBlobAsync(HttpClient client, string repository, string digest)
    {
        try
        {
            using var response = await client.GetAsync($"/v2/{repository}/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead).WithTimeout();
            var body = await response.Content.ReadAsByteArrayAsync().WithTimeout();
            Log($"GET {repository}@{digest} -> {(int)response.StatusCode}, {body.Length} bytes");
            return response.StatusCode == HttpStatusCode.OK && RegistryTestClient.Sha256(body) == digest ? body : null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            Log($"GET {repository}@{digest} failed: {e.Message}");
            return null;
        }
    }

    private sealed record Blob(string Digest, byte[] Content);

    private sealed record PushedImage(string ManifestDigest, byte[] Manifest, IReadOnlyList<Blob> Blobs);

    /// <summary>A docker schema 2 image (config and two layers, random bytes from <paramref name="seed"/>) pushed under <paramref name="tag"/>.</summary>
    private async Task<PushedImage> PushImageAsync(RegistryProcess upstream, string repository, string tag, int seed, int layerBytes = 20_000)
    {
        using var http = new RegistryHttp(upstream.BaseAddress, Log);
        if (upstream.Kind == RegistryKind.Berth)
        {
            var token = await AuthRegistryFactory.TokenAsync(http.Client, "admin", upstream.AdminPassword, $"repository:{repository}:pull,push");
            http.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var random = new Random(seed);
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":{seed}}}");
        var layers = Enumerable.Range(0, 2).Select(i => { var b = new byte[layerBytes + i]; random.NextBytes(b); return b; }).ToList();
        var blobs = new List<Blob> { new(await http.PushBlobAsync(repository, config), config) };
        foreach (var layer in layers)
        {
            blobs.Add(new(await http.PushBlobAsync(repository, layer), layer));
        }

        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryTestClient.DockerManifest,
            ["config"] = RegistryTestClient.Descriptor(RegistryTestClient.DockerConfig, blobs[0].Digest, config.Length),
            ["layers"] = new JsonArray([.. blobs.Skip(1).Select(b => (JsonNode)RegistryTestClient.Descriptor(RegistryTestClient.DockerLayer, b.Digest, b.Content.Length))]),
        }.ToJsonString());
        var digest = await http.PutManifestAsync(repository, tag, RegistryTestClient.DockerManifest, manifest);
        return new PushedImage(digest, manifest, blobs);
    }

    private void Log(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test is over; a process still talking has nowhere to write.
        }
    }
}

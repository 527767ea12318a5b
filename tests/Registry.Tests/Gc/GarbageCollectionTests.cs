using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Registry.Gc;
using Berth.Registry.Http;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Registry.Tests.Gc;

/// <summary>Online garbage collection: what goes, what never goes, and pushes racing the collector.</summary>
public sealed class GarbageCollectionTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();

    public GarbageCollectionTests()
    {
        // The background loop is off: each test runs collections itself, concurrently with pushes where it says so.
        _factory.Settings["Registry:Gc:Enabled"] = "false";
        _factory.Settings["Registry:Gc:BatchSize"] = "3";
    }

    public void Dispose() => _factory.Dispose();

    private GarbageCollector Collector => _factory.Services.GetRequiredService<GarbageCollector>();

    private async Task<HttpClient> WireAsync(string repository)
    {
        var client = _factory.CreateClient();
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _factory.AdminPassword, $"repository:{repository}:pull,push,delete");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<(string Digest, string Manifest)> PushAsync(HttpClient client, string repository, string tag)
    {
        var manifest = await client.PushImageBlobsAsync(repository);
        using var response = await client.PutManifestAsync(repository, tag, manifest, RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (response.Headers.GetValues("Docker-Content-Digest").Single(), manifest);
    }

    // A blob push that commits bytes the collector deletes before they are linked is refused (the client retries).
    private static async Task<string> PushBlobAsync(HttpClient client, byte[] content)
    {
        var digest = RegistryTestClient.Sha256(content);
        for (var attempt = 0; ; attempt++)
        {
            using var response = await client.PostAsync($"/v2/gc/race/blobs/uploads/?digest={digest}", new ByteArrayContent(content)).WithTimeout();
            if (response.StatusCode == HttpStatusCode.Created || attempt == 5)
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                return digest;
            }
        }
    }

    private static IEnumerable<(string Digest, long Size)> Blobs(string manifest)
    {
        using var document = JsonDocument.Parse(manifest);
        var root = document.RootElement;
        return [(root.GetProperty("config").GetProperty("digest").GetString()!, root.GetProperty("config").GetProperty("size").GetInt64()),
            .. root.GetProperty("layers").EnumerateArray().Select(l => (l.GetProperty("digest").GetString()!, l.GetProperty("size").GetInt64()))];
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path).WithTimeout();
        return response.StatusCode;
    }

    [Fact]
    public async Task AnUntaggedImage_GoesAfterTheReviewDelay_WithItsBlobs_AndTaggedImagesStay()
    {
        _factory.Settings["Registry:Gc:ReviewDelay"] = "01:00:00";
        var client = await WireAsync("gc/app");
        var (_, kept) = await PushAsync(client, "gc/app", "keep");
        var (goneDigest, gone) = await PushAsync(client, "gc/app", "gone");
        using (var untag = await client.DeleteAsync("/v2/gc/app/manifests/gone").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Accepted, untag.StatusCode);
        }

        var early = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();
        _factory.Time.Advance(TimeSpan.FromHours(2));
        var preview = await new RegistryAdminClient(_factory.CreateClient(), "admin", _factory.AdminPassword).RunGcAsync(dryRun: true, CancellationToken.None).WithTimeout();
        var manifests = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();
        _factory.Time.Advance(TimeSpan.FromHours(2));
        var blobs = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();
        var runs = await new RegistryAdminClient(_factory.CreateClient(), "admin", _factory.AdminPassword).ListGcRunsAsync(CancellationToken.None);

        Assert.Equal((0, 0), (early.Manifests.Count, early.Blobs.Count));
        Assert.Equal([goneDigest], preview.Manifests);
        Assert.True(preview.Run.DryRun);
        Assert.Equal([goneDigest], manifests.Manifests.Select(m => m.Digest));
        Assert.Equal(Blobs(gone).Select(b => b.Digest).Order(), blobs.Blobs.Select(b => b.Digest).Order());
        Assert.Equal(Blobs(gone).Sum(b => b.Size), blobs.Run.BytesDeleted);
        Assert.Equal(4, runs.Count);
        client = await WireAsync("gc/app");
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, $"/v2/gc/app/manifests/{goneDigest}"));
        foreach (var (digest, _) in Blobs(gone))
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, $"/v2/gc/app/blobs/{digest}"));
            Assert.False(File.Exists(Path.Combine(_factory.DataDir, "blobs", "sha256", digest[7..9], digest[7..])));
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/v2/gc/app/manifests/keep"));
        foreach (var (digest, _) in Blobs(kept))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/gc/app/blobs/{digest}"));
        }
    }

    [Fact]
    public async Task WithNoDelay_OneRunTakesAnUntaggedImage_AndTheBlobsItsDeletionQueued_OnAClockThatMoves()
    {
        // A real clock moves between the run's first stamp and the one after the manifest phase: the blobs the
        // manifest deletes queued are stamped after the run started and must still go in this run.
        _factory.Settings["Registry:Gc:ReviewDelay"] = "00:00:00";
        // No pacing: this clock moves on each read, so each batch seems to take time, and a pause after the test's own
        // requests would wait on a timer of a clock that nothing reads any more (GcPacingTests covers the pacing).
        _factory.Settings["Registry:Gc:BusyShare"] = "1";
        var client = await WireAsync("gc/now");
        var (_, kept) = await PushAsync(client, "gc/now", "keep");
        var (goneDigest, gone) = await PushAsync(client, "gc/now", "gone");
        using (var untag = await client.DeleteAsync("/v2/gc/now/manifests/gone").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Accepted, untag.StatusCode);
        }

        _factory.Time.AutoAdvanceAmount = TimeSpan.FromMilliseconds(1);
        var report = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        Assert.Equal([goneDigest], report.Manifests.Select(m => m.Digest));
        Assert.Equal(Blobs(gone).Select(b => b.Digest).Order(), report.Blobs.Select(b => b.Digest).Order());
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/v2/gc/now/manifests/keep"));
        foreach (var (digest, _) in Blobs(kept))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/gc/now/blobs/{digest}"));
        }
    }

    [Fact]
    public async Task EveryRequest_IsTrafficTheCollectorYieldsTo()
    {
        var client = _factory.CreateClient();
        var traffic = _factory.Services.GetRequiredService<RequestTraffic>();
        traffic.TakeArrived();

        var before = traffic.TakeArrived();
        using (var response = await client.GetAsync("/v2/").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var afterRegistryRequest = traffic.TakeArrived();
        var taken = traffic.TakeArrived();
        using (await client.GetAsync("/api/v1/gc/runs").WithTimeout())
        {
            // The admin API's requests count too (refused or not).
        }

        Assert.False(before);
        Assert.True(afterRegistryRequest);
        Assert.False(taken);
        Assert.True(traffic.TakeArrived());
    }

    [Fact]
    public async Task ChildrenOfAnIndex_AndReferrersOfALiveSubject_AreNeverCollected()
    {
        _factory.Settings["Registry:Gc:ReviewDelay"] = "00:00:00";
        var client = await WireAsync("gc/multi");
        var child = await client.PushImageBlobsAsync("gc/multi", mediaType: RegistryTestClient.OciManifest);
        string childDigest;
        using (var put = await client.PutManifestAsync("gc/multi", RegistryTestClient.Sha256(System.Text.Encoding.UTF8.GetBytes(child)), child, RegistryTestClient.OciManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            childDigest = put.Headers.GetValues("Docker-Content-Digest").Single();
        }

        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryTestClient.OciIndex,
            ["manifests"] = new JsonArray(RegistryTestClient.Descriptor(RegistryTestClient.OciManifest, childDigest, System.Text.Encoding.UTF8.GetByteCount(child))),
        }.ToJsonString();
        using (var put = await client.PutManifestAsync("gc/multi", "1", index, RegistryTestClient.OciIndex))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var report = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();
        var again = await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        Assert.Empty(report.Manifests);
        Assert.Empty(report.Blobs);
        Assert.Empty(again.Manifests);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/gc/multi/manifests/{childDigest}"));
        foreach (var (digest, _) in Blobs(child))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/gc/multi/blobs/{digest}"));
        }
    }

    [Fact]
    public async Task PushAndDeleteInALoop_WhileGcRunsWithNoDelay_EveryAcknowledgedTagPullsWhole()
    {
        _factory.Settings["Registry:Gc:ReviewDelay"] = "00:00:00";
        var client = await WireAsync("gc/race");
        using var done = new CancellationTokenSource();
        using var step = new SemaphoreSlim(0);
        var collections = 0;

        // A collection starts after every push attempt and every delete and runs while the next one goes on.
        var collector = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await step.WaitAsync(done.Token);
                    await Collector.RunAsync(dryRun: false, CancellationToken.None);
                    collections++;
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
                // The loop is over.
            }
        });

        var acknowledged = new Dictionary<string, string>(StringComparer.Ordinal);
        var deleted = 0;
        var refused = 0;
        var shared = RegistryTestClient.RandomBytes(2_000);
        for (var attempt = 0; attempt < 200 && acknowledged.Count + deleted < 20; attempt++)
        {
            var i = attempt;
            // A layer every image shares (so deletes leave it referenced elsewhere) and one of its own.
            var sharedDigest = await PushBlobAsync(client, shared);
            var own = RegistryTestClient.RandomBytes(1_500);
            var ownDigest = await PushBlobAsync(client, own);
            var config = System.Text.Encoding.UTF8.GetBytes($"{{\"n\":{i}}}");
            var configDigest = await PushBlobAsync(client, config);
            var manifest = new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = RegistryTestClient.DockerManifest,
                ["config"] = RegistryTestClient.Descriptor(RegistryTestClient.DockerConfig, configDigest, config.Length),
                ["layers"] = new JsonArray(
                    RegistryTestClient.Descriptor(RegistryTestClient.DockerLayer, sharedDigest, shared.Length),
                    RegistryTestClient.Descriptor(RegistryTestClient.DockerLayer, ownDigest, own.Length)),
            }.ToJsonString();
            using var put = await client.PutManifestAsync("gc/race", $"t{i}", manifest, RegistryTestClient.DockerManifest);
            step.Release();

            // With no review delay the collector may take a blob between its upload and the manifest: the push is
            // then refused (never acknowledged), which is what a delay of 0 means.
            if (put.StatusCode == HttpStatusCode.Created)
            {
                acknowledged[$"t{i}"] = manifest;
            }
            else
            {
                await RegistryTestClient.AssertErrorAsync(put, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
                refused++;
                continue;
            }

            if ((acknowledged.Count + deleted) % 3 == 0 && acknowledged.Keys.FirstOrDefault() is { } oldest)
            {
                using var delete = await client.DeleteAsync($"/v2/gc/race/manifests/{oldest}").WithTimeout();
                Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
                acknowledged.Remove(oldest);
                deleted++;
                step.Release();
            }
        }

        await done.CancelAsync();
        await collector.WithTimeout();
        await Collector.RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        Assert.True(collections > 0);
        Assert.True(acknowledged.Count >= 5, $"{acknowledged.Count} tags acknowledged and kept, {deleted} deleted, {refused} pushes refused");
        foreach (var (tag, manifest) in acknowledged)
        {
            using var pulled = await client.GetAsync($"/v2/gc/race/manifests/{tag}").WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
            foreach (var (digest, size) in Blobs(manifest))
            {
                var bytes = await client.GetByteArrayAsync($"/v2/gc/race/blobs/{digest}").WithTimeout();
                Assert.Equal(size, bytes.Length);
                Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
        }
    }
}

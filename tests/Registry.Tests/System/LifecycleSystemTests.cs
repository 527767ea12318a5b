using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// Lifecycle policies end to end through the real registry process: images pushed over the wire, a policy put through
/// the admin API, previewed, applied, the registry killed and restarted, the bytes collected, and what stays pulled and
/// checked byte for byte.
/// </summary>
[Trait("Category", "System")]
[SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class LifecycleSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Repository = "lifecycle/app";

    private const string Policy = """
        {"rules": [
          {"rulePriority": 1, "description": "keep the two newest releases", "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}},
          {"rulePriority": 2, "description": "keep one untagged image", "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}
        ]}
        """;

    private RegistryProcess _registry = null!;
    private RegistryHttp _http = null!;
    private HttpClient _adminHttp = null!;

    public async Task InitializeAsync()
    {
        // The background loops are off so that the test decides when policies apply and bytes go; a review delay of 0
        // lets one collection reclaim what the expirations freed.
        _registry = await RegistryProcess.StartAsync(
            Log,
            RegistryKind.Berth,
            new RegistryProcessOptions(Arguments: ["--Registry:Lifecycle:Enabled=false", "--Registry:Gc:Enabled=false", "--Registry:Gc:ReviewDelay=00:00:00"])).WithTimeout();
        _http = new RegistryHttp(_registry.BaseAddress, Log);
        _adminHttp = new HttpClient { BaseAddress = _registry.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _adminHttp.Dispose();
        _http.Dispose();
        await _registry.DisposeAsync();
    }

    private RegistryAdminClient Admin() => new(_adminHttp, "admin", _registry.AdminPassword);

    private async Task<(string Digest, string[] Blobs)> PushImageAsync(string? tag)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = RandomBytes(64 * 1024);
        var configDigest = await _http.PushBlobAsync(Repository, config);
        var layerDigest = await _http.PushBlobAsync(Repository, layer);
        var manifest = RegistryHttp.Json(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryHttp.DockerManifest,
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.docker.container.image.v1+json", ["digest"] = configDigest, ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip", ["digest"] = layerDigest, ["size"] = layer.Length }),
        });
        var digest = await _http.PutManifestAsync(Repository, tag ?? RegistryHttp.Sha256(manifest), RegistryHttp.DockerManifest, manifest);
        return (digest, [configDigest, layerDigest]);
    }

    [Fact]
    public async Task PushedImages_AreExpiredByThePolicy_TheRecordSurvivesKill9_GcReclaimsTheBytes_AndWhatStaysPullsWhole()
    {
        var images = new Dictionary<string, (string Digest, string[] Blobs)>();
        foreach (var tag in new[] { "v1", "v2", "v3", "v4", "v5" })
        {
            images[tag] = await PushImageAsync(tag);
        }

        images["untagged-old"] = await PushImageAsync(null);
        images["untagged-new"] = await PushImageAsync(null);
        var admin = Admin();
        await admin.PutLifecyclePolicyAsync(Repository, Policy, CancellationToken.None).WithTimeout();

        var preview = await admin.StartLifecyclePolicyPreviewAsync(Repository, null, CancellationToken.None).WithTimeout();
        Assert.Equal(
            [images["v1"].Digest, images["v2"].Digest, images["v3"].Digest, images["untagged-old"].Digest],
            preview.PreviewResults.Select(r => r.ImageDigest));
        Assert.Equal(HttpStatusCode.OK, (await _http.HeadBlobAsync(Repository, images["v1"].Blobs[1])).Status);

        var run = await admin.RunLifecyclePoliciesAsync(Repository, CancellationToken.None).WithTimeout();
        Assert.Equal(preview.PreviewResults.Select(r => r.ImageDigest), run.Expirations.Select(e => e.ImageDigest));
        Assert.Equal([1, 1, 1, 2], run.Expirations.Select(e => e.AppliedRulePriority));

        // What stays pulls whole; what went is gone by tag and by digest.
        foreach (var kept in new[] { "v4", "v5", images["untagged-new"].Digest })
        {
            Assert.Equal(2, await _http.VerifyManifestAsync(Repository, kept));
        }

        foreach (var gone in new[] { "v1", "v2", "v3", images["v1"].Digest, images["untagged-old"].Digest })
        {
            using var response = await _http.Client.GetAsync($"v2/{Repository}/manifests/{gone}").WithTimeout();
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        // kill -9: the policy and the record of the run are in the database.
        _registry.Kill();
        await _registry.RestartAsync().WithTimeout();
        admin = Admin();
        Assert.Equal(Policy, (await admin.GetLifecyclePolicyAsync(Repository, CancellationToken.None).WithTimeout()).LifecyclePolicyText);
        var runs = await admin.ListLifecycleRunsAsync(Repository, 10, CancellationToken.None).WithTimeout();
        Assert.Equal(run.Expirations.Select(e => e.ImageDigest), Assert.Single(runs).Expirations.Select(e => e.ImageDigest));

        // The collector reclaims the expired images' bytes (and, its own business, the untagged manifest the policy kept).
        var gc = await admin.RunGcAsync(dryRun: false, CancellationToken.None).WithTimeout();
        var expiredBlobs = new[] { "v1", "v2", "v3", "untagged-old" }.SelectMany(name => images[name].Blobs).ToHashSet();
        Assert.Superset(expiredBlobs, gc.Blobs.Select(b => b.Digest).ToHashSet());
        foreach (var blob in expiredBlobs)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await _http.HeadBlobAsync(Repository, blob)).Status);
            Assert.False(File.Exists(Path.Combine(_registry.DataDir, "blobs", "sha256", blob[7..9], blob[7..])));
        }

        foreach (var kept in new[] { "v4", "v5" })
        {
            Assert.Equal(2, await _http.VerifyManifestAsync(Repository, kept));
        }
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private void Log(string line) => output.WriteLine(line);
}

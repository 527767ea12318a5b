using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// Sparse manifests with a real client: <c>skopeo copy --multi-arch index-only</c> copies an index without the images
/// it lists, which is exactly a sparse index. A registry started without <c>--allow-sparse-manifests</c> refuses it
/// (MANIFEST_BLOB_UNKNOWN, which skopeo reports); one started with <c>--allow-sparse-manifests index</c> stores it.
/// </summary>
[Trait("Category", "System")]
[SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class SparseSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromMinutes(2);
    private readonly string _runId = Guid.NewGuid().ToString("N")[..10];
    private readonly List<RegistryProcess> _registries = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var registry in _registries)
        {
            await registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task SkopeoIndexOnlyCopy_IsRefusedByDefault_AndStoredWhenSparseIndexesAreAllowed()
    {
        var strict = await StartAsync([]);
        var sparse = await StartAsync(["--allow-sparse-manifests", "index"]);
        foreach (var registry in new[] { strict, sparse })
        {
            using var http = new RegistryHttp(registry.BaseAddress, Log);
            var source = $"sparse-{_runId}/source";
            var children = new[] { await PushImageAsync(http, source, "amd64"), await PushImageAsync(http, source, "arm64") };
            var index = RegistryHttp.Json(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = RegistryHttp.OciIndex,
                ["manifests"] = new JsonArray([.. children.Select(c => (JsonNode)c.Descriptor)]),
            });
            var indexDigest = await http.PutManifestAsync(source, "multi", RegistryHttp.OciIndex, index);
            var target = $"sparse-{_runId}/target";

            var copy = await ProcessRunner.RunAsync(
                "skopeo",
                ["copy", "--multi-arch", "index-only", "--src-tls-verify=false", "--dest-tls-verify=false", $"docker://{registry.Host}/{source}:multi", $"docker://{registry.Host}/{target}:multi"],
                s_clientTimeout,
                log: Log);

            if (registry == strict)
            {
                Assert.NotEqual(0, copy.ExitCode);
                Assert.Contains("manifest blob unknown", copy.StandardError, StringComparison.OrdinalIgnoreCase);
                using var refused = await http.Client.GetAsync($"v2/{target}/manifests/multi");
                Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
                continue;
            }

            copy.EnsureSuccess("skopeo copy --multi-arch index-only");
            var (served, contentType) = await http.GetManifestAsync(target, "multi");
            Assert.Equal(RegistryHttp.OciIndex, contentType);
            Assert.Equal(indexDigest, RegistryHttp.Sha256(served));
            foreach (var child in children)
            {
                // The index is all that was copied: its images stay where they were.
                using var absent = await http.Client.GetAsync($"v2/{target}/manifests/{child.Digest}");
                Assert.Equal(HttpStatusCode.NotFound, absent.StatusCode);
                using var present = await http.Client.GetAsync($"v2/{source}/manifests/{child.Digest}");
                Assert.Equal(HttpStatusCode.OK, present.StatusCode);
            }

            // skopeo reads the sparse index back like any other.
            var inspect = await ProcessRunner.RunAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{registry.Host}/{target}:multi"], s_clientTimeout, log: Log);
            inspect.EnsureSuccess("skopeo inspect --raw");
            Assert.Equal(indexDigest, RegistryHttp.Sha256(System.Text.Encoding.UTF8.GetBytes(inspect.StandardOutput.TrimEnd('\n'))));
        }
    }

    private async Task<RegistryProcess> StartAsync(string[] arguments)
    {
        var registry = await RegistryProcess.StartAsync(Log, RegistryKind.Berth, new RegistryProcessOptions(Arguments: arguments)).WithTimeout(TimeSpan.FromMinutes(2));
        _registries.Add(registry);
        return registry;
    }

    private static async Task<(JsonObject Descriptor, string Digest)> PushImageAsync(RegistryHttp http, string repository, string architecture)
    {
        var layer = RandomNumberGenerator.GetBytes(4096);
        var layerDigest = await http.PushBlobAsync(repository, layer);
        var config = RegistryHttp.Json(new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(layerDigest) },
        });
        var configDigest = await http.PushBlobAsync(repository, config);
        var manifest = RegistryHttp.Json(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryHttp.OciManifest,
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = configDigest, ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = "application/vnd.oci.image.layer.v1.tar", ["digest"] = layerDigest, ["size"] = layer.Length }),
        });
        var digest = await http.PutManifestAsync(repository, RegistryHttp.Sha256(manifest), RegistryHttp.OciManifest, manifest);
        var descriptor = new JsonObject
        {
            ["mediaType"] = RegistryHttp.OciManifest,
            ["digest"] = digest,
            ["size"] = manifest.Length,
            ["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" },
        };
        return (descriptor, digest);
    }

    private void Log(string line)
    {
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // Output arriving after the test finished has nowhere to go.
        }
    }
}

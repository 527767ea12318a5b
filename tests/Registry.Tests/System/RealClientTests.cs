using System.Diagnostics.CodeAnalysis;
using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// The registry as a real process, driven by the real clients users have: the docker CLI (through dockerd) and skopeo.
/// Each test starts its own registry on a free loopback port with a temporary data directory and uses repository names
/// unique to the run, and removes the images and containers it created.
/// </summary>
[Trait("Category", "System")]
[SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class RealClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromMinutes(2);
    private readonly string _runId = Guid.NewGuid().ToString("N")[..10];
    private readonly List<string> _images = [];
    private readonly List<string> _containers = [];
    private readonly List<string> _tempDirs = [];
    private RegistryProcess _registry = null!;
    private RegistryHttp _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await RegistryProcess.StartAsync(Log).WithTimeout();
        _http = new RegistryHttp(_registry.BaseAddress, Log);
    }

    public async Task DisposeAsync()
    {
        foreach (var container in _containers)
        {
            await ProcessRunner.RunAsync("docker", ["rm", "-f", container], log: Log);
        }

        foreach (var image in _images)
        {
            await ProcessRunner.RunAsync("docker", ["rmi", "-f", image], log: Log);
        }

        foreach (var dir in _tempDirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }

        _http.Dispose();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task DockerPushRmiPullRun_ThreeLayerImage_ComesBackByteForByte()
    {
        // Arrange: a 3-layer image on the offline busybox base, with megabytes of random data.
        await TestImages.EnsureBusyboxAsync(log: Log);
        var image = $"{_registry.Host}/berth-sys-{_runId}/app:1";
        var context = TempDir("build");
        var one = RandomFile(context, "one.bin", 3 << 20);
        var two = RandomFile(context, "two.bin", 2 << 20);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
            FROM {TestImages.Busybox}
            COPY one.bin /data/one.bin
            COPY two.bin /data/two.bin
            RUN echo "marker {_runId}" > /data/marker
            CMD ["sh", "-c", "cat /data/marker; wc -c /data/one.bin /data/two.bin"]
            """);
        await DockerAsync("build", "-t", image, context);
        _images.Add(image);
        var builtId = (await DockerAsync("image", "inspect", "--format", "{{.Id}}", image)).Trim();

        // Act: push, forget it locally, pull it back.
        var push = await DockerAsync("push", image);
        await DockerAsync("rmi", image);
        var gone = await ProcessRunner.RunAsync("docker", ["image", "inspect", image], log: Log);
        Assert.NotEqual(0, gone.ExitCode);
        await DockerAsync("pull", image);

        // Assert: the same image (config digest), every layer's bytes, and it runs.
        Assert.Equal(builtId, (await DockerAsync("image", "inspect", "--format", "{{.Id}}", image)).Trim());
        var pushedDigest = push.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("1: digest: ", StringComparison.Ordinal)).Split(' ')[2];
        Assert.Contains(pushedDigest, await DockerAsync("image", "inspect", "--format", "{{json .RepoDigests}}", image), StringComparison.Ordinal);
        var (manifest, contentType) = await _http.GetManifestAsync($"berth-sys-{_runId}/app", "1");
        Assert.Equal(RegistryHttp.DockerManifest, contentType);
        Assert.Equal(pushedDigest, RegistryHttp.Sha256(manifest));
        Assert.Equal(4, JsonNode.Parse(manifest)!["layers"]!.AsArray().Count);
        Assert.Equal(5, await _http.VerifyManifestAsync($"berth-sys-{_runId}/app", pushedDigest));

        // A second repository on the same registry: dockerd mounts the layers across (POST ?mount=&from=).
        var copy = $"{_registry.Host}/berth-sys-{_runId}/copy:1";
        await DockerAsync("tag", image, copy);
        _images.Add(copy);
        var mounted = await DockerAsync("push", copy);
        Assert.Equal(4, mounted.Split('\n').Count(l => l.Contains($"Mounted from berth-sys-{_runId}/app", StringComparison.Ordinal)));
        Assert.Equal(5, await _http.VerifyManifestAsync($"berth-sys-{_runId}/copy", "1"));

        var run = await DockerAsync("run", "--rm", image);
        Assert.Contains($"marker {_runId}", run, StringComparison.Ordinal);
        Assert.Contains("3145728 /data/one.bin", run, StringComparison.Ordinal);
        Assert.Contains("2097152 /data/two.bin", run, StringComparison.Ordinal);

        var container = (await DockerAsync("create", image)).Trim();
        _containers.Add(container);
        var copies = TempDir("copies");
        await DockerAsync("cp", $"{container}:/data/one.bin", Path.Combine(copies, "one.bin"));
        await DockerAsync("cp", $"{container}:/data/two.bin", Path.Combine(copies, "two.bin"));
        Assert.Equal(one, RegistryHttp.Sha256(await File.ReadAllBytesAsync(Path.Combine(copies, "one.bin"))));
        Assert.Equal(two, RegistryHttp.Sha256(await File.ReadAllBytesAsync(Path.Combine(copies, "two.bin"))));
    }

    [Fact]
    public async Task SkopeoCopy_DaemonToRegistryToDir_EveryFileHashesToItsNameAndInspectAgrees()
    {
        // Arrange: a 2-layer image in the daemon.
        await TestImages.EnsureBusyboxAsync(log: Log);
        var local = $"berth-sys-{_runId}/skopeo-src:1";
        var context = TempDir("build");
        RandomFile(context, "payload.bin", 1 << 20);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
            FROM {TestImages.Busybox}
            COPY payload.bin /payload.bin
            """);
        await DockerAsync("build", "-t", local, context);
        _images.Add(local);
        var remote = $"docker://{_registry.Host}/berth-sys-{_runId}/skopeo:1";

        // Act: daemon -> registry -> dir.
        await SkopeoAsync("copy", $"docker-daemon:{local}", remote, "--dest-tls-verify=false");
        var dir = TempDir("skopeo-dir");
        Directory.Delete(dir);
        await SkopeoAsync("copy", "--src-tls-verify=false", remote, $"dir:{dir}");
        var inspect = JsonNode.Parse(await SkopeoAsync("inspect", "--tls-verify=false", remote))!;
        var raw = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", remote);

        // Assert: the dir holds the manifest the registry serves, and every blob file hashes to its name.
        var manifestBytes = await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json"));
        var manifest = JsonNode.Parse(manifestBytes)!;
        Assert.Equal(RegistryHttp.Sha256(manifestBytes), inspect["Digest"]!.GetValue<string>());
        Assert.Equal(Encoding.UTF8.GetString(manifestBytes), raw.TrimEnd('\n'));
        var layers = manifest["layers"]!.AsArray().Select(l => l!["digest"]!.GetValue<string>()).ToList();
        Assert.Equal(2, layers.Count);
        Assert.Equal(layers, inspect["Layers"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal("amd64", inspect["Architecture"]!.GetValue<string>());
        Assert.Equal("linux", inspect["Os"]!.GetValue<string>());
        foreach (var digest in layers.Append(manifest["config"]!["digest"]!.GetValue<string>()))
        {
            var file = Path.Combine(dir, digest["sha256:".Length..]);
            Assert.True(File.Exists(file), $"skopeo wrote no {file}");
            Assert.Equal(digest, RegistryHttp.Sha256(await File.ReadAllBytesAsync(file)));
        }

        using var tags = await _http.Client.GetAsync($"v2/berth-sys-{_runId}/skopeo/tags/list");
        Assert.Equal(["1"], JsonNode.Parse(await tags.Content.ReadAsStringAsync())!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task MultiPlatformIndex_PulledByDigest_DockerGetsAmd64AndSkopeoGetsArm64()
    {
        // Arrange: two single-layer OCI images and the index over them, built and pushed over HTTP.
        var repository = $"berth-sys-{_runId}/multi";
        var amd64 = await PushPlatformImageAsync(repository, "amd64", withBusybox: true);
        var arm64 = await PushPlatformImageAsync(repository, "arm64", withBusybox: false);
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryHttp.OciIndex,
            ["manifests"] = new JsonArray(amd64.Descriptor, arm64.Descriptor),
        };
        var indexDigest = await _http.PutManifestAsync(repository, "multi", RegistryHttp.OciIndex, RegistryHttp.Json(index));
        var (served, contentType) = await _http.GetManifestAsync(repository, indexDigest);
        Assert.Equal(RegistryHttp.OciIndex, contentType);
        Assert.Equal(indexDigest, RegistryHttp.Sha256(served));

        // Act + Assert, docker: pulling the index by digest resolves this host's platform (amd64) and runs it.
        var byDigest = $"{_registry.Host}/{repository}@{indexDigest}";
        await DockerAsync("pull", byDigest);
        _images.Add(byDigest);
        Assert.Equal("amd64", (await DockerAsync("image", "inspect", "--format", "{{.Architecture}}", byDigest)).Trim());
        var run = await DockerAsync("run", "--rm", byDigest);
        Assert.Equal($"linux/amd64 {_runId}", run.Trim());

        // Act + Assert, skopeo: the arm64 child, chosen from the same index.
        var dir = TempDir("arm64");
        Directory.Delete(dir);
        await SkopeoAsync("copy", "--override-arch", "arm64", "--src-tls-verify=false", $"docker://{byDigest}", $"dir:{dir}");
        var manifestBytes = await File.ReadAllBytesAsync(Path.Combine(dir, "manifest.json"));
        Assert.Equal(arm64.ManifestDigest, RegistryHttp.Sha256(manifestBytes));
        Assert.Equal(arm64.Layer, await File.ReadAllBytesAsync(Path.Combine(dir, arm64.LayerDigest["sha256:".Length..])));
        var inspect = JsonNode.Parse(await SkopeoAsync("inspect", "--override-arch", "arm64", "--tls-verify=false", $"docker://{byDigest}"))!;
        Assert.Equal("arm64", inspect["Architecture"]!.GetValue<string>());
        // skopeo inspect names the reference's own manifest, the index, even when it describes a chosen child.
        Assert.Equal(indexDigest, inspect["Digest"]!.GetValue<string>());
        Assert.Equal([arm64.LayerDigest], inspect["Layers"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(4, await _http.VerifyManifestAsync(repository, indexDigest));
    }

    [Fact]
    public async Task KillDuringLargePush_RestartOnSameData_UploadResumesAndNothingPartialIsServed()
    {
        var repository = $"berth-sys-{_runId}/big";
        var streamed = new GeneratedBlob(200L << 20, seed: 1);
        var monolithic = new GeneratedBlob(200L << 20, seed: 2);

        // Act 1: a streamed PATCH (chunked, as dockerd sends a layer) of a 200 MiB layer; kill -9 at 100 MiB.
        var session = await _http.StartUploadAsync(repository);
        var body = streamed.Body(knownLength: false).PauseAfter(100L << 20);
        using var patch = new HttpRequestMessage(HttpMethod.Patch, session) { Content = body };
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var sending = _http.Client.SendAsync(patch);
        await body.Paused.WithTimeout();
        _registry.Kill();
        body.Resume();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => sending.WithTimeout());

        // Assert 1: after a restart on the same data, the interrupted digest is no blob; the session tells where to resume.
        await _registry.RestartAsync().WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, (await _http.HeadBlobAsync(repository, streamed.Digest)).Status);
        Assert.Null(await _http.GetBlobVerifiedAsync(repository, streamed.Digest));
        using var status = await _http.Client.GetAsync(session).WithTimeout();
        long received;
        Uri location;
        if (status.StatusCode == HttpStatusCode.NotFound && _registry.Kind == RegistryKind.Distribution)
        {
            // Distribution keeps the offset in the Location's signed _state, which only the PATCH response (never
            // received) would have advanced, so it refuses the session. Berth must not: start over here.
            Log("distribution cannot resume an upload whose PATCH response was lost; starting a new session");
            received = 0;
            location = await _http.StartUploadAsync(repository);
        }
        else
        {
            await _http.ExpectAsync(status, HttpStatusCode.NoContent, "GET upload status after restart");
            var range = status.Headers.GetValues("Range").Single();
            received = long.Parse(range.Split('-')[1]) + 1;
            Log($"the registry kept {received} of the {100L << 20} bytes sent before the kill");
            Assert.InRange(received, 1, 100L << 20);
            location = status.Headers.Location is { } l ? _http.Resolve(l) : session;
        }

        // Act 2: resume from where the registry says it is, finish, and the blob is whole.
        using var rest = new HttpRequestMessage(HttpMethod.Patch, location) { Content = streamed.Body(from: received) };
        rest.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        rest.Content.Headers.TryAddWithoutValidation("Content-Range", $"{received}-{streamed.Length - 1}");
        using var resumed = await _http.Client.SendAsync(rest).WithTimeout(s_clientTimeout);
        await _http.ExpectAsync(resumed, HttpStatusCode.Accepted, "PATCH the rest after restart");
        var finish = _http.Resolve(resumed.Headers.Location ?? location);
        using var put = await _http.Client.PutAsync(RegistryHttp.WithDigest(finish, streamed.Digest), null).WithTimeout(s_clientTimeout);
        await _http.ExpectAsync(put, HttpStatusCode.Created, "PUT ?digest= after resume");
        Assert.Equal(streamed.Length, await _http.GetBlobVerifiedAsync(repository, streamed.Digest).WithTimeout(s_clientTimeout));

        // Act 3: a monolithic PUT of another 200 MiB layer, killed the moment its last byte is sent: the registry is
        // then finishing the digest and moving the blob into place.
        var second = await _http.StartUploadAsync(repository);
        var whole = monolithic.Body();
        whole.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var putting = _http.Client.PutAsync(RegistryHttp.WithDigest(second, monolithic.Digest), whole);
        await whole.Written.WithTimeout(s_clientTimeout);
        _registry.Kill();
        try
        {
            using var answer = await putting.WithTimeout();
            Log($"the PUT was answered {(int)answer.StatusCode} before the kill");
        }
        catch (HttpRequestException e)
        {
            Log($"the PUT died with the registry: {e.Message}");
        }

        // Assert 3: after the restart the blob is either whole or absent, never partial; pushing again succeeds.
        await _registry.RestartAsync().WithTimeout();
        var (headStatus, headLength) = await _http.HeadBlobAsync(repository, monolithic.Digest);
        Assert.True(headStatus is HttpStatusCode.OK or HttpStatusCode.NotFound, $"HEAD answered {(int)headStatus}");
        Assert.True(headStatus == HttpStatusCode.NotFound || headLength == monolithic.Length, $"HEAD says {headLength} bytes");
        var servedAfterKill = await _http.GetBlobVerifiedAsync(repository, monolithic.Digest).WithTimeout(s_clientTimeout);
        Assert.True(servedAfterKill is null || servedAfterKill == monolithic.Length);

        var again = await _http.StartUploadAsync(repository);
        var retry = monolithic.Body();
        retry.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var retried = await _http.Client.PutAsync(RegistryHttp.WithDigest(again, monolithic.Digest), retry).WithTimeout(s_clientTimeout);
        await _http.ExpectAsync(retried, HttpStatusCode.Created, "PUT the whole layer again after restart");

        // A manifest over both layers, then a sweep of everything the registry serves.
        var config = Encoding.UTF8.GetBytes("""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""");
        var configDigest = await _http.PushBlobAsync(repository, config);
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryHttp.OciManifest,
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", configDigest, config.Length),
            ["layers"] = new JsonArray(
                Descriptor("application/vnd.oci.image.layer.v1.tar", streamed.Digest, streamed.Length),
                Descriptor("application/vnd.oci.image.layer.v1.tar", monolithic.Digest, monolithic.Length)),
        };
        await _http.PutManifestAsync(repository, "after-crash", RegistryHttp.OciManifest, RegistryHttp.Json(manifest));
        Assert.Equal(3, await _http.VerifyEverythingServedAsync().WithTimeout(s_clientTimeout));
    }

    [Fact]
    public async Task DockerPush_RegistryKilledMidLayer_PushAgainAfterRestartAndPullIsIntact()
    {
        // Arrange: an image with a 96 MiB layer of random (incompressible) data.
        await TestImages.EnsureBusyboxAsync(log: Log);
        var image = $"{_registry.Host}/berth-sys-{_runId}/crash:1";
        var context = TempDir("build");
        var big = RandomFile(context, "big.bin", 96 << 20);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
            FROM {TestImages.Busybox}
            COPY big.bin /big.bin
            """);
        await DockerAsync("build", "-t", image, context);
        _images.Add(image);

        // Act: kill -9 once the registry holds 24 MiB of the layer, start it again on the same data, push again.
        var interrupted = ProcessRunner.RunAsync("docker", ["push", image], s_clientTimeout, log: Log);
        await TaskTimeouts.WaitUntilAsync(
            () => Task.FromResult(interrupted.IsCompleted || BytesUnder(_registry.DataDir) >= 24 << 20),
            s_clientTimeout,
            "the registry to receive 24 MiB of the layer");
        Assert.False(interrupted.IsCompleted, "docker push finished before the registry could be killed in the middle of the layer");
        _registry.Kill();
        await _registry.RestartAsync().WithTimeout();
        // dockerd retries a failed layer upload by itself, so this may succeed against the restarted registry.
        Log($"the interrupted docker push exited with {(await interrupted.WithTimeout(s_clientTimeout)).ExitCode}");
        var push = await DockerAsync("push", image);

        // Assert: the image comes back whole, and everything the registry serves hashes to its digest.
        var pushedDigest = push.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("1: digest: ", StringComparison.Ordinal)).Split(' ')[2];
        await DockerAsync("rmi", image);
        await DockerAsync("pull", image);
        Assert.Contains(pushedDigest, await DockerAsync("image", "inspect", "--format", "{{json .RepoDigests}}", image), StringComparison.Ordinal);
        var container = (await DockerAsync("create", image)).Trim();
        _containers.Add(container);
        var copies = TempDir("copies");
        await DockerAsync("cp", $"{container}:/big.bin", Path.Combine(copies, "big.bin"));
        Assert.Equal(big, RegistryHttp.Sha256(await File.ReadAllBytesAsync(Path.Combine(copies, "big.bin"))));
        Assert.Equal(3, await _http.VerifyEverythingServedAsync().WithTimeout(s_clientTimeout));
    }

    private async Task<PlatformImage> PushPlatformImageAsync(string repository, string architecture, bool withBusybox)
    {
        var marker = Encoding.UTF8.GetBytes($"linux/{architecture} {_runId}\n");
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "platform") { DataStream = new MemoryStream(marker), Mode = (UnixFileMode)0b110_100_100 });
            if (withBusybox)
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
                var busybox = new[] { "/bin/busybox", "/usr/bin/busybox" }.First(File.Exists);
                await using var binary = File.OpenRead(busybox);
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { DataStream = binary, Mode = (UnixFileMode)0b111_101_101 });
                foreach (var applet in new[] { "sh", "cat" })
                {
                    await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{applet}") { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 });
                }
            }
        }

        var diffId = RegistryHttp.Sha256(tar.ToArray());
        using var gzipped = new MemoryStream();
        await using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(tar.ToArray());
        }

        var layer = gzipped.ToArray();
        var layerDigest = await _http.PushBlobAsync(repository, layer);
        var config = RegistryHttp.Json(new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/bin"), ["Cmd"] = new JsonArray("cat", "/platform") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(diffId) },
        });
        var configDigest = await _http.PushBlobAsync(repository, config);
        var manifest = RegistryHttp.Json(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryHttp.OciManifest,
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", configDigest, config.Length),
            ["layers"] = new JsonArray(Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layerDigest, layer.Length)),
        });
        var manifestDigest = await _http.PutManifestAsync(repository, RegistryHttp.Sha256(manifest), RegistryHttp.OciManifest, manifest);
        var descriptor = Descriptor(RegistryHttp.OciManifest, manifestDigest, manifest.Length);
        descriptor["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
        return new PlatformImage(descriptor, manifestDigest, configDigest, layer, layerDigest);
    }

    private static JsonObject Descriptor(string mediaType, string digest, long size) =>
        new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    private async Task<string> DockerAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("docker", arguments, s_clientTimeout, log: Log)).EnsureSuccess($"docker {arguments[0]}").StandardOutput;

    private async Task<string> SkopeoAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("skopeo", arguments, s_clientTimeout, log: Log)).EnsureSuccess($"skopeo {arguments[0]}").StandardOutput;

    private string TempDir(string purpose)
    {
        var dir = Directory.CreateTempSubdirectory($"berth-sys-{_runId}-{purpose}-").FullName;
        _tempDirs.Add(dir);
        return dir;
    }

    private static long BytesUnder(string dir)
    {
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                total += file.Length;
            }
        }
        catch (IOException)
        {
            // A file or directory vanished while the registry moved it; the next poll counts again.
        }

        return total;
    }

    private static string RandomFile(string dir, string name, int size)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        File.WriteAllBytes(Path.Combine(dir, name), data);
        return RegistryHttp.Sha256(data);
    }

    private void Log(string line)
    {
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // Output arriving after the test finished (the registry's last lines) has nowhere to go.
        }
    }

    private sealed record PlatformImage(JsonObject Descriptor, string ManifestDigest, string ConfigDigest, byte[] Layer, string LayerDigest);
}

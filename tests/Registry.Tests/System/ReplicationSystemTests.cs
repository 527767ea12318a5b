using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// Replication between two real registry processes over loopback sockets: the source without auth (pushed to by the
/// real docker CLI), the destination with token auth (reached with its admin's credentials, as a robot's would be).
/// </summary>
[Trait("Category", "System")]
[SuppressMessage("Design", "CA1001", Justification = "xunit disposes the fields in IAsyncLifetime.DisposeAsync.")]
public sealed class ReplicationSystemTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromMinutes(2);
    private readonly string _runId = Guid.NewGuid().ToString("N")[..10];
    private readonly List<string> _images = [];
    private readonly List<string> _tempDirs = [];
    private RegistryProcess _source = null!;
    private RegistryProcess _destination = null!;
    private HttpClient _sourceHttp = null!;

    public async Task InitializeAsync()
    {
        _destination = await RegistryProcess.StartAsync(Log, RegistryKind.Berth, new RegistryProcessOptions(Auth: true)).WithTimeout();
        _source = await RegistryProcess.StartAsync(Log, RegistryKind.Berth, new RegistryProcessOptions(Arguments:
        [
            // Short backoffs so a retry comes within the test; two failed attempts make FAILED.
            "--Registry:Replication:Backoff=00:00:00.200",
            "--Registry:Replication:MaxBackoff=00:00:01",
            "--Registry:Replication:FailedAfterAttempts=2",
        ])).WithTimeout();
        _sourceHttp = new HttpClient { BaseAddress = _source.BaseAddress, Timeout = s_clientTimeout };
    }

    public async Task DisposeAsync()
    {
        foreach (var image in _images)
        {
            await ProcessRunner.RunAsync("docker", ["rmi", "-f", image], log: Log);
        }

        foreach (var dir in _tempDirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }

        _sourceHttp.Dispose();
        await _source.DisposeAsync();
        await _destination.DisposeAsync();
    }

    [Fact]
    public async Task DockerPush_ToMatchingRepository_AppearsInDestinationByteIdentical()
    {
        // Arrange: a rule for app/; a 2-layer image in the daemon.
        await ConfigureAsync("app/");
        await TestImages.EnsureBusyboxAsync(log: Log);
        var context = TempDir("build");
        await File.WriteAllBytesAsync(Path.Combine(context, "payload.bin"), RandomNumberGenerator.GetBytes(1 << 20));
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
            FROM {TestImages.Busybox}
            COPY payload.bin /payload.bin
            """);
        var repository = $"app/web-{_runId}";
        var image = $"{_source.Host}/{repository}:1";
        await DockerAsync("build", "-t", image, context);
        _images.Add(image);

        // Act: docker push to the source; and a push to a repository no rule matches.
        await DockerAsync("push", image);
        var other = $"other/web-{_runId}";
        var manifest = await _sourceHttp.PushImageBlobsAsync(other, layerCount: 1);
        using (var pushed = await _sourceHttp.PutManifestAsync(other, "1", manifest, RegistryTestClient.DockerManifest))
        {
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        }

        // Assert: COMPLETE at the destination; the manifest's bytes and every blob the same at both ends.
        var status = await WaitForStatusAsync(repository, "1", "COMPLETE");
        Assert.Equal(_destination.Host, status.RegistryId);
        Assert.Null(status.FailureCode);
        var sourceRaw = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", $"docker://{image}");
        var destinationRaw = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", "--creds", $"admin:{_destination.AdminPassword}", $"docker://{_destination.Host}/{repository}:1");
        Assert.Equal(sourceRaw, destinationRaw);
        var dir = TempDir("copy");
        await SkopeoAsync("copy", "--src-tls-verify=false", "--src-creds", $"admin:{_destination.AdminPassword}", $"docker://{_destination.Host}/{repository}:1", $"dir:{dir}");
        var blobs = Directory.GetFiles(dir).Where(f => Path.GetFileName(f).Length == 64).ToList();
        Assert.Equal(3, blobs.Count);
        foreach (var file in blobs)
        {
            Assert.Equal(Path.GetFileName(file), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file))));
        }

        // The repository no rule matches has no status, and the destination never got it.
        var unmatched = await Admin().DescribeImageReplicationStatusAsync(other, new ImageIdentifier(null, "1"), CancellationToken.None);
        Assert.Empty(unmatched.ReplicationStatuses);
        using var destination = await DestinationClientAsync($"repository:{other}:pull");
        using var missing = await destination.GetAsync($"v2/{other}/manifests/1");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task DestinationDown_FailsWithReason_ThenCatchesUpAfterItStarts()
    {
        // Arrange: the destination stops; a rule for everything.
        _destination.Kill();
        await ConfigureAsync(prefix: null);
        var repository = $"down/app-{_runId}";
        var manifest = await _sourceHttp.PushImageBlobsAsync(repository, layerCount: 2);

        // Act 1: push while it is down.
        using (var pushed = await _sourceHttp.PutManifestAsync(repository, "v1", manifest, RegistryTestClient.DockerManifest))
        {
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        }

        // Assert 1: retried, then FAILED with the connection's error as the reason.
        var failed = await WaitForStatusAsync(repository, "v1", "FAILED");
        Assert.True(failed.Attempts >= 2, $"{failed.Attempts} attempts");
        Assert.False(string.IsNullOrEmpty(failed.FailureCode));
        Log($"while down: {failed.FailureCode}");

        // Act 2 + Assert 2: the destination starts; the retries go on and complete.
        await _destination.RestartAsync();
        await WaitForStatusAsync(repository, "v1", "COMPLETE");
        await AssertSameManifestAsync(repository, "v1");
    }

    [Fact]
    public async Task KillDashNine_AfterPushesAcknowledged_ReplicatesThemAfterTheRestart()
    {
        // Arrange
        await ConfigureAsync("crash/");
        var repository = $"crash/app-{_runId}";
        var tags = new List<string>();

        // Act: pushes acknowledged (201), then kill -9 at once: the worker may not have read any of them.
        for (var i = 0; i < 5; i++)
        {
            var manifest = await _sourceHttp.PushImageBlobsAsync(repository, layerCount: 1);
            using var pushed = await _sourceHttp.PutManifestAsync(repository, $"t{i}", manifest, RegistryTestClient.DockerManifest);
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
            tags.Add($"t{i}");
        }

        _source.Kill();
        await _source.RestartAsync();

        // Assert: every acknowledged tag is replicated, byte for byte.
        foreach (var tag in tags)
        {
            await WaitForStatusAsync(repository, tag, "COMPLETE");
            await AssertSameManifestAsync(repository, tag);
        }
    }

    [Fact]
    public async Task Index_IsReplicatedWithItsChildren()
    {
        // Arrange: two platform manifests pushed by digest and an index over them pushed by tag.
        await ConfigureAsync("multi/");
        var repository = $"multi/app-{_runId}";
        var children = new System.Text.Json.Nodes.JsonArray();
        var childDigests = new List<string>();
        foreach (var architecture in new[] { "amd64", "arm64" })
        {
            var manifest = await _sourceHttp.PushImageBlobsAsync(repository, layerCount: 1, RegistryTestClient.OciManifest);
            var digest = RegistryTestClient.Sha256(System.Text.Encoding.UTF8.GetBytes(manifest));
            using var pushed = await _sourceHttp.PutManifestAsync(repository, digest, manifest, RegistryTestClient.OciManifest);
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
            var descriptor = RegistryTestClient.Descriptor(RegistryTestClient.OciManifest, digest, System.Text.Encoding.UTF8.GetByteCount(manifest));
            descriptor["platform"] = new System.Text.Json.Nodes.JsonObject { ["architecture"] = architecture, ["os"] = "linux" };
            children.Add(descriptor);
            childDigests.Add(digest);
        }

        var index = new System.Text.Json.Nodes.JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryTestClient.OciIndex,
            ["manifests"] = children,
        }.ToJsonString();

        // Act
        using (var pushed = await _sourceHttp.PutManifestAsync(repository, "latest", index, RegistryTestClient.OciIndex))
        {
            Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        }

        // Assert: the index by tag and each child by digest, byte for byte.
        await WaitForStatusAsync(repository, "latest", "COMPLETE");
        using var destination = await DestinationClientAsync($"repository:{repository}:pull");
        destination.DefaultRequestHeaders.Accept.ParseAdd(RegistryTestClient.OciIndex);
        destination.DefaultRequestHeaders.Accept.ParseAdd(RegistryTestClient.OciManifest);
        Assert.Equal(index, await destination.GetStringAsync($"v2/{repository}/manifests/latest"));
        foreach (var digest in childDigests)
        {
            var child = await destination.GetByteArrayAsync($"v2/{repository}/manifests/{digest}");
            Assert.Equal(digest, RegistryTestClient.Sha256(child));
        }
    }

    private async Task ConfigureAsync(string? prefix)
    {
        var configuration = new ReplicationConfiguration(
        [
            new ReplicationRule(
                [new ReplicationDestination("local", null, _destination.BaseAddress.ToString(), "admin", _destination.AdminPassword)],
                prefix is null ? null : [new RepositoryFilter(prefix, "PREFIX_MATCH")]),
        ]);
        var answer = await Admin().PutReplicationConfigurationAsync(configuration, CancellationToken.None);
        var destination = Assert.Single(Assert.Single(answer.ReplicationConfiguration!.Rules!).Destinations!);
        Assert.Null(destination.Password);
        Assert.Equal(_destination.Host, destination.RegistryId);
    }

    private RegistryAdminClient Admin() => new(_sourceHttp, "admin", _source.AdminPassword);

    private async Task<ImageReplicationStatus> WaitForStatusAsync(string repository, string tag, string status)
    {
        ImageReplicationStatus? last = null;
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                var answer = await Admin().DescribeImageReplicationStatusAsync(repository, new ImageIdentifier(null, tag), CancellationToken.None);
                last = answer.ReplicationStatuses.SingleOrDefault();
                return last?.Status == status;
            },
            TimeSpan.FromMinutes(2),
            $"{repository}:{tag} to be {status} (last: {last})");
        return last!;
    }

    private async Task AssertSameManifestAsync(string repository, string tag)
    {
        using var source = await _sourceHttp.GetAsync($"v2/{repository}/manifests/{tag}");
        using var destination = await DestinationClientAsync($"repository:{repository}:pull");
        using var copied = await destination.GetAsync($"v2/{repository}/manifests/{tag}");
        Assert.Equal(HttpStatusCode.OK, copied.StatusCode);
        Assert.Equal(await source.Content.ReadAsByteArrayAsync(), await copied.Content.ReadAsByteArrayAsync());
        Assert.Equal(source.Headers.GetValues("Docker-Content-Digest").Single(), copied.Headers.GetValues("Docker-Content-Digest").Single());
    }

    private async Task<HttpClient> DestinationClientAsync(string scope)
    {
        var client = new HttpClient { BaseAddress = _destination.BaseAddress, Timeout = s_clientTimeout };
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _destination.AdminPassword, scope);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        client.DefaultRequestHeaders.Accept.ParseAdd(RegistryTestClient.DockerManifest);
        return client;
    }

    private string TempDir(string name)
    {
        var dir = Directory.CreateTempSubdirectory($"berth-replication-{name}-").FullName;
        _tempDirs.Add(dir);
        return dir;
    }

    private async Task<string> DockerAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("docker", arguments, s_clientTimeout, log: Log)).EnsureSuccess($"docker {arguments[0]}").StandardOutput;

    private async Task<string> SkopeoAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("skopeo", arguments, s_clientTimeout, log: Log)).EnsureSuccess($"skopeo {arguments[0]}").StandardOutput;

    private void Log(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test ended while a process still wrote.
        }
    }
}

using Berth.Registry.Tests.SystemTests;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.PullThrough;

/// <summary>The real <c>docker pull</c> through a Berth registry process whose rule caches Debian's docker-registry.</summary>
[Trait("Category", "System")]
public sealed class PullThroughDockerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_clientTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task DockerPull_ThroughTheCache_GetsTheUpstreamImage_AndAgainWithTheUpstreamStopped()
    {
        // Arrange: an image pushed to the upstream with docker, and a cache rule for it.
        await TestImages.EnsureBusyboxAsync(log: Log);
        await using var upstream = await RegistryProcess.StartAsync(Log, RegistryKind.Distribution);
        await using var cache = await RegistryProcess.StartAsync(Log, RegistryKind.Berth);
        var run = Guid.NewGuid().ToString("N")[..8];
        var source = $"{upstream.Host}/ptc-{run}/busybox:1";
        var cached = $"{cache.Host}/mirror/ptc-{run}/busybox:1";
        var context = Directory.CreateTempSubdirectory("berth-ptc-docker-").FullName;
        try
        {
            // A layer of its own, so that docker has to download it through the cache (the base's layers it has).
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"FROM {TestImages.Busybox}\nRUN echo 'run {run}' > /marker\n");
            await DockerAsync("build", "-t", source, context);
            await DockerAsync("push", source);
            var id = (await DockerAsync("image", "inspect", "--format", "{{.Id}}", source)).Trim();
            await DockerAsync("rmi", source);
            using var http = new HttpClient { BaseAddress = cache.BaseAddress };
            await new RegistryAdminClient(http, "admin", cache.AdminPassword).CreatePullThroughCacheRuleAsync(
                new CreatePullThroughCacheRuleRequest("mirror", upstream.BaseAddress.ToString()), CancellationToken.None);

            // Act: docker pulls through the cache; then, with the upstream gone and the image removed locally, again.
            await DockerAsync("pull", cached);
            var first = (await DockerAsync("image", "inspect", "--format", "{{.Id}}", cached)).Trim();
            upstream.Kill();
            await DockerAsync("rmi", cached);
            await DockerAsync("pull", cached);

            // Assert: the upstream's image both times, and it runs (its own layer came through the cache).
            Assert.Equal(id, first);
            Assert.Equal(id, (await DockerAsync("image", "inspect", "--format", "{{.Id}}", cached)).Trim());
            Assert.Equal($"run {run}", (await DockerAsync("run", "--rm", cached, "cat", "/marker")).Trim());
        }
        finally
        {
            await ProcessRunner.RunAsync("docker", ["rmi", "-f", source, cached], log: Log);
            Directory.Delete(context, recursive: true);
        }
    }

    private async Task<string> DockerAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("docker", arguments, s_clientTimeout, log: Log)).EnsureSuccess($"docker {arguments[0]}").StandardOutput;

    private void Log(string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test is over.
        }
    }
}

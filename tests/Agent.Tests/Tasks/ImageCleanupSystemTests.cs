using Berth.Agent.Configuration;
using Berth.Agent.Hosting;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Tasks;

/// <summary>Image cleanup against the real engine; only the disk gauge is a fake (the machine's disk is not full).</summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class ImageCleanupSystemTests(EngineFixture engine, ITestOutputHelper output)
{
    [Fact]
    public async Task WhileTheDiskIsFull_RemovesUnusedImagesLeastRecentlyUsedFirst_NeverOneInUse()
    {
        var repo = $"berth-test/cleanup-{engine.RunId}";
        string[] tags = [$"{repo}:a", $"{repo}:b", $"{repo}:c"];
        foreach (var tag in tags)
        {
            await BuildAsync(tag);
        }

        var state = Directory.CreateTempSubdirectory("berth-cleanup-");
        var containerId = string.Empty;
        try
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var options = Microsoft.Extensions.Options.Options.Create(new AgentOptions
            {
                DataDirectory = state.FullName,
                Scope = "cleanup-" + engine.RunId,
                ImageCleanup = new ImageCleanupOptions { MinimumAge = TimeSpan.FromHours(1), DiskUsageThresholdPercent = 80 },
            });
            var images = new ImageStore(engine.Runtime, options, AgentDataDirectory.Open(options.Value.DataDirectory), time, NullLogger<ImageStore>.Instance);
            images.MarkUsed(tags[1]);                  // b: used longest ago
            time.Advance(TimeSpan.FromMinutes(10));
            images.MarkUsed(tags[0]);                  // a
            images.MarkUsed(tags[2]);                  // c: also old, but a container uses it
            time.Advance(TimeSpan.FromHours(2));
            containerId = await engine.Runtime.CreateContainerAsync(new ContainerCreateSpec { Name = $"berth-test-cleanup-{engine.RunId}", Image = tags[2], Labels = engine.Labels, Command = ["true"] }, CancellationToken.None);

            // "Full" while more than one of the three is left: the cleaner must take b, then a, then stop.
            var disk = new GaugeProbe(() => tags.Count(t => engine.Runtime.InspectImageAsync(t, CancellationToken.None).GetAwaiter().GetResult() is not null) > 1 ? 95 : 50);
            var retention = AgentParts.CreateRetention(engine.Runtime, AgentParts.CreateArchive(options, time), options, time, NullLoggerFactory.Instance);
            var taskEngine = AgentParts.CreateTaskEngine(engine.Runtime, images, retention, options, time, NullLoggerFactory.Instance);
            var cleaner = new ImageCleanupService(engine.Runtime, taskEngine, images, disk, options, time, NullLogger<ImageCleanupService>.Instance);

            var removed = await cleaner.CleanOnceAsync(CancellationToken.None);

            output.WriteLine(string.Join(", ", removed));
            Assert.Equal([tags[1], tags[0]], removed);
            Assert.NotNull(await engine.Runtime.InspectImageAsync(tags[2], CancellationToken.None));
            Assert.NotNull(await engine.Runtime.InspectImageAsync(engine.Image, CancellationToken.None));
        }
        finally
        {
            if (containerId.Length > 0)
            {
                await engine.Runtime.RemoveContainerAsync(containerId, CancellationToken.None);
            }

            foreach (var tag in tags)
            {
                await engine.Runtime.RemoveImageAsync(tag, CancellationToken.None);
            }

            state.Delete(recursive: true);
        }
    }

    private async Task BuildAsync(string tag)
    {
        var context = Directory.CreateTempSubdirectory("berth-build-");
        try
        {
            // A label of its own gives each tag its own image id.
            await File.WriteAllTextAsync(Path.Combine(context.FullName, "Dockerfile"), $"FROM {engine.Image}\nLABEL berth.test-image={tag}\n");
            (await ProcessRunner.RunAsync("docker", ["build", "-q", "-t", tag, context.FullName], TimeSpan.FromSeconds(60), log: output.WriteLine)).EnsureSuccess("docker build");
        }
        finally
        {
            context.Delete(recursive: true);
        }
    }

    private sealed class GaugeProbe(Func<double> percent) : IDiskUsageProbe
    {
        public double UsedPercent(string path) => percent();
    }
}

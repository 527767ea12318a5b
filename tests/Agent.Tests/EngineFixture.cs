using Berth.Agent.Runtime;
using Berth.TestSupport;

namespace Berth.Agent.Tests;

/// <summary>
/// The shared Docker engine, a busybox test image, and a label unique to this test run so that cleanup removes
/// only containers this run created (others use the same engine).
/// </summary>
public sealed class EngineFixture : IAsyncLifetime
{
    public const string RunLabel = "berth.test-run";

    internal DockerContainerRuntime Runtime { get; } = new(new Uri("unix:///var/run/docker.sock"));

    public string RunId { get; } = Guid.NewGuid().ToString("N")[..12];

    public string Image { get; private set; } = TestImages.Busybox;

    public IReadOnlyDictionary<string, string> Labels => new Dictionary<string, string> { [RunLabel] = RunId };

    public async Task InitializeAsync() => Image = await TestImages.EnsureBusyboxAsync();

    public async Task DisposeAsync()
    {
        foreach (var c in await Runtime.ListContainersAsync(Labels, CancellationToken.None))
        {
            await Runtime.RemoveContainerAsync(c.Id, CancellationToken.None);
        }

        Runtime.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class EngineCollection : ICollectionFixture<EngineFixture>
{
    public const string Name = "engine";
}

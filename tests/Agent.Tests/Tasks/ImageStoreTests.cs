using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Agent.Tests.Tasks;

public sealed class ImageStoreTests : IDisposable
{
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-images-");
    private readonly FakeContainerRuntime _runtime = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Default_Pulls_AndFallsBackToTheCachedImageWhenThePullFails()
    {
        _runtime.LocalImages.Add("reg:5000/app:1");
        _runtime.FailingPulls["reg:5000/app:1"] = "connection refused";
        _runtime.FailingPulls["reg:5000/app:2"] = "manifest unknown";
        var store = Store(ImagePullBehavior.Default);

        await store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        var ex = await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync("reg:5000/app:2", [], CancellationToken.None));

        Assert.Equal("manifest unknown", ex.Message);
        Assert.Equal(2, _runtime.Pulls.Count);
    }

    [Fact]
    public async Task Always_FailsOnAFailedPull_EvenWithTheImageCached()
    {
        _runtime.LocalImages.Add("reg:5000/app:1");
        _runtime.FailingPulls["reg:5000/app:1"] = "unauthorized";

        await Assert.ThrowsAsync<ImagePullException>(() => Store(ImagePullBehavior.Always).EnsureAsync("reg:5000/app:1", [], CancellationToken.None));
    }

    [Fact]
    public async Task PreferCached_PullsOnlyWhatIsMissing()
    {
        _runtime.LocalImages.Add("reg:5000/app:1");
        var store = Store(ImagePullBehavior.PreferCached);

        await store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        await store.EnsureAsync("reg:5000/app:2", [], CancellationToken.None);

        Assert.Equal(["reg:5000/app:2"], _runtime.Pulls.Select(p => p.Image));
    }

    [Fact]
    public async Task Once_PullsAnImageTheFirstTimeOnly_AcrossAgentRestarts()
    {
        _runtime.LocalImages.Add("reg:5000/app:1");
        await Store(ImagePullBehavior.Once).EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        await Store(ImagePullBehavior.Once).EnsureAsync("reg:5000/app:1", [], CancellationToken.None);

        Assert.Single(_runtime.Pulls);
    }

    [Fact]
    public async Task Credentials_GoToTheMatchingRegistry_AndUseIsRecorded()
    {
        var store = Store(ImagePullBehavior.Always);
        RegistryCredential[] credentials = [new("other:5000", "a", "1"), new("reg:5000", "robot", "secret")];

        await store.EnsureAsync("reg:5000/app:1", credentials, CancellationToken.None);

        Assert.Equal("robot", _runtime.Pulls[0].Credential?.Username);
        Assert.Equal(_time.GetUtcNow(), store.LastUsed["reg:5000/app:1"]);
    }

    [Theory]
    [InlineData("busybox:1")]
    [InlineData("team/app:1")]
    [InlineData("other.example/app:1")]
    public async Task Credentials_NeverGoToAnotherRegistry(string image)
    {
        RegistryCredential[] credentials = [new("reg:5000", "robot", "secret")];

        await Store(ImagePullBehavior.Always).EnsureAsync(image, credentials, CancellationToken.None);

        Assert.Null(Assert.Single(_runtime.Pulls).Credential);
    }

    public void Dispose() => _state.Delete(recursive: true);

    private ImageStore Store(ImagePullBehavior behavior)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new AgentOptions { DataDirectory = _state.FullName, ImagePullBehavior = behavior });
        return new ImageStore(_runtime, options, AgentDataDirectory.Open(options.Value.DataDirectory), _time, NullLogger<ImageStore>.Instance);
    }
}

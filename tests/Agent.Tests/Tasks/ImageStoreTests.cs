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
    private static readonly TimeSpan s_step = TimeSpan.FromSeconds(30);
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
    public async Task TasksOfOneImage_ShareOnePull()
    {
        _runtime.PullGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = Store(ImagePullBehavior.Always);

        var first = store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        var second = store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        await WaitForPullsAsync(1);
        _runtime.PullGate.SetResult();
        await Task.WhenAll(first, second).WaitAsync(s_step);

        Assert.Single(_runtime.Pulls);
        await store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        Assert.Equal(2, _runtime.Pulls.Count);
    }

    [Fact]
    public async Task ASharedPullThatFails_FailsEveryWaiter_AndCountsOnceInTheBackoff()
    {
        _runtime.PullGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _runtime.FailingPulls["reg:5000/app:9"] = "manifest unknown";
        var store = Store(ImagePullBehavior.Always);

        var waiters = Enumerable.Range(0, 3).Select(_ => store.EnsureAsync("reg:5000/app:9", [], CancellationToken.None)).ToList();
        await WaitForPullsAsync(1);
        _runtime.PullGate.SetResult();
        foreach (var waiter in waiters)
        {
            var failed = await Assert.ThrowsAsync<ImagePullException>(() => waiter.WaitAsync(s_step));
            Assert.Equal("manifest unknown", failed.Message);
        }

        Assert.Single(_runtime.Pulls);
        // One failure, not three: the next attempt is held back by the first step of the backoff only.
        var held = await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync("reg:5000/app:9", [], CancellationToken.None));
        Assert.Contains("failed 1 times in a row", held.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWaiterThatLeaves_DoesNotCancelThePullOthersWaitFor_TheLastOneDoes()
    {
        _runtime.PullGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = Store(ImagePullBehavior.Always);
        using var leaving = new CancellationTokenSource();
        using var alsoLeaving = new CancellationTokenSource();

        var stopped = store.EnsureAsync("reg:5000/app:1", [], leaving.Token);
        var staying = store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None);
        await WaitForPullsAsync(1);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped.WaitAsync(s_step));
        _runtime.PullGate.SetResult();
        await staying.WaitAsync(s_step);
        Assert.Equal((1, 0), (_runtime.Pulls.Count, _runtime.CancelledPulls));

        _runtime.PullGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var alone = store.EnsureAsync("reg:5000/app:1", [], alsoLeaving.Token);
        await WaitForPullsAsync(2);
        await alsoLeaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => alone.WaitAsync(s_step));
        await WaitUntilAsync(() => _runtime.CancelledPulls == 1);

        // The abandoned pull is not joined: the next caller starts its own.
        _runtime.PullGate.SetResult();
        await store.EnsureAsync("reg:5000/app:1", [], CancellationToken.None).WaitAsync(s_step);
        Assert.Equal(3, _runtime.Pulls.Count);
    }

    private Task WaitForPullsAsync(int count) => WaitUntilAsync(() =>
    {
        lock (_runtime.Pulls)
        {
            return _runtime.Pulls.Count >= count;
        }
    });

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(s_step);
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
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

    [Fact]
    public async Task FailingPulls_BackOffExponentially_FailFastMeanwhileWithTheRealCause_AndResetOnSuccess()
    {
        const string image = "reg:5000/missing/app:1";
        _runtime.FailingPulls[image] = "manifest for reg:5000/missing/app:1 not found: manifest unknown";
        var store = Store(ImagePullBehavior.Always, new ImagePullBackoffOptions { Initial = TimeSpan.FromSeconds(5), Maximum = TimeSpan.FromSeconds(60) });

        // The first failure is the engine's message as it is (the stop reason reads CannotPullContainerError: <it>).
        var first = await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync(image, [], CancellationToken.None));
        Assert.Equal(_runtime.FailingPulls[image], first.Message);

        // Until the step (2.5-5 s: 5 s jittered down by up to half) has passed, tasks fail at once, without a pull.
        var blocked = await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync(image, [], CancellationToken.None));
        Assert.Single(_runtime.Pulls);
        Assert.StartsWith(_runtime.FailingPulls[image], blocked.Message, StringComparison.Ordinal);
        Assert.Contains("failed 1 times in a row", blocked.Message, StringComparison.Ordinal);

        // Each step at least doubles the lower bound of the last: pulls happen at most at 2.5, 5, 10, 20, ... s.
        var pullTimes = new List<TimeSpan>();
        var start = _time.GetUtcNow();
        for (var second = 0; second < 200; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var before = _runtime.Pulls.Count;
            await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync(image, [], CancellationToken.None));
            if (_runtime.Pulls.Count > before)
            {
                pullTimes.Add(_time.GetUtcNow() - start);
            }
        }

        var gaps = pullTimes.Zip(pullTimes.Skip(1), (a, b) => b - a).ToList();
        Assert.InRange(pullTimes[0], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6));
        Assert.All(gaps, g => Assert.InRange(g, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(61)));
        // Capped: 200 s of failing tasks cost a handful of pulls, not 200; the cap keeps it from going silent.
        Assert.InRange(pullTimes.Count, 4, 10);
        Assert.True(gaps.TakeLast(2).All(g => g >= TimeSpan.FromSeconds(30)), string.Join(", ", gaps));

        // The image appears: the next allowed pull works and the backoff is gone.
        _runtime.FailingPulls.Remove(image);
        _time.Advance(TimeSpan.FromSeconds(61));
        await store.EnsureAsync(image, [], CancellationToken.None);
        _runtime.FailingPulls[image] = "unauthorized";
        await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync(image, [], CancellationToken.None));
        var afterReset = await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync(image, [], CancellationToken.None));
        Assert.Contains("failed 1 times in a row", afterReset.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backoff_IsPerImage_AndDefaultBehaviorStillFallsBackToTheCache()
    {
        _runtime.FailingPulls["reg:5000/a:1"] = "connection refused";
        _runtime.FailingPulls["reg:5000/b:1"] = "connection refused";
        _runtime.LocalImages.Add("reg:5000/b:1");
        var store = Store(ImagePullBehavior.Default);

        await Assert.ThrowsAsync<ImagePullException>(() => store.EnsureAsync("reg:5000/a:1", [], CancellationToken.None));
        // b has not failed yet: it is pulled (and falls back to its cached copy); then, backing off, it uses the cache without a pull.
        await store.EnsureAsync("reg:5000/b:1", [], CancellationToken.None);
        await store.EnsureAsync("reg:5000/b:1", [], CancellationToken.None);

        Assert.Equal(["reg:5000/a:1", "reg:5000/b:1"], _runtime.Pulls.Select(p => p.Image));
    }

    public void Dispose() => _state.Delete(recursive: true);

    private ImageStore Store(ImagePullBehavior behavior, ImagePullBackoffOptions? backoff = null)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new AgentOptions
        {
            DataDirectory = _state.FullName,
            ImagePullBehavior = behavior,
            ImagePullBackoff = backoff ?? new ImagePullBackoffOptions(),
        });
        return new ImageStore(_runtime, options, AgentDataDirectory.Open(options.Value.DataDirectory), _time, NullLogger<ImageStore>.Instance);
    }
}

using System.Runtime.CompilerServices;
using Berth.Agent.Runtime;

namespace Berth.Agent.Tests.Tasks;

/// <summary>A hand-written image-side fake of the engine for unit tests of pull rules (containers are not modelled).</summary>
internal sealed class FakeContainerRuntime : IContainerRuntime
{
    public HashSet<string> LocalImages { get; } = new(StringComparer.Ordinal);

    /// <summary>References whose pull fails, with the engine's message.</summary>
    public Dictionary<string, string> FailingPulls { get; } = new(StringComparer.Ordinal);

    public List<(string Image, RegistryCredential? Credential)> Pulls { get; } = [];

    public Task<EngineInfo> GetInfoAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new EngineInfo("fake", "fake", 2, 4L << 30, "20.10.24", "fake", "x86_64", "/var/lib/docker"));

    /// <summary>When set, every pull waits for it (or for its cancellation) before it ends.</summary>
    public TaskCompletionSource? PullGate { get; set; }

    /// <summary>Pulls that ended because their cancellation token fired.</summary>
    public int CancelledPulls => Volatile.Read(ref _cancelledPulls);

    private int _cancelledPulls;

    public async Task PullImageAsync(string image, RegistryCredential? credential, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        lock (Pulls)
        {
            Pulls.Add((image, credential));
        }

        if (PullGate is { } gate)
        {
            try
            {
                await gate.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _cancelledPulls);
                throw;
            }
        }

        if (FailingPulls.TryGetValue(image, out var message))
        {
            throw new ImagePullException(message);
        }

        progress?.Report(new PullProgress("layer1", "Pull complete", null, null));
        lock (LocalImages)
        {
            LocalImages.Add(image);
        }
    }

    public Task ImportImageAsync(string reference, Stream rootfs, IReadOnlyList<string> changes, CancellationToken cancellationToken)
    {
        LocalImages.Add(reference);
        return Task.CompletedTask;
    }

    public Task<ImageInfo?> InspectImageAsync(string image, CancellationToken cancellationToken) =>
        Task.FromResult(LocalImages.Contains(image) ? new ImageInfo("sha256:" + image, [image], DateTimeOffset.UnixEpoch, 1) : null);

    public Task<IReadOnlyList<ImageInfo>> ListImagesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ImageInfo>>(LocalImages.Select(i => new ImageInfo("sha256:" + i, [i], DateTimeOffset.UnixEpoch, 1)).ToList());

    public Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken) => Task.FromResult(LocalImages.Remove(reference));

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<int> RemoveVolumesAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<string> CreateContainerAsync(ContainerCreateSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task StartContainerAsync(string containerId, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task StopContainerAsync(string containerId, TimeSpan timeout, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task RemoveContainerAsync(string containerId, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<ContainerDetails?> InspectContainerAsync(string containerId, CancellationToken cancellationToken) => Task.FromResult<ContainerDetails?>(null);

    /// <summary>What <see cref="GetUsageAsync"/> answers, by container id.</summary>
    public Dictionary<string, ContainerUsage> Usage { get; } = new(StringComparer.Ordinal);

    public Task<ContainerUsage?> GetUsageAsync(string containerId, CancellationToken cancellationToken) =>
        Task.FromResult(Usage.TryGetValue(containerId, out var usage) ? usage : (ContainerUsage?)null);

    public Task<IReadOnlyList<ContainerDetails>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ContainerDetails>>([]);

    public async IAsyncEnumerable<ContainerEvent> WatchEventsAsync(IReadOnlyDictionary<string, string> labels, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    public async IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, LogReadSpec spec, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        yield break;
    }

    public Task<IExecSession> StartExecAsync(string containerId, ExecSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();
}

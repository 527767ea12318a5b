namespace Berth.Agent.Runtime;

/// <summary>
/// The agent's small view of the container engine. Everything the task engine needs and nothing more, so that
/// the decision logic is tested with hand-written fakes and only <see cref="DockerContainerRuntime"/> knows Docker.
/// </summary>
internal interface IContainerRuntime
{
    /// <summary>CPU count, memory and identity of the engine; also the cheapest "is it up" probe.</summary>
    Task<EngineInfo> GetInfoAsync(CancellationToken cancellationToken);

    /// <summary>Pulls <paramref name="image"/>; throws <see cref="ImagePullException"/> with the engine's message.</summary>
    Task PullImageAsync(string image, RegistryCredential? credential, IProgress<PullProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Imports a root file system (a tar stream) as the image <paramref name="reference"/>, with Dockerfile <paramref name="changes"/> (<c>LABEL ...</c>, <c>ENV ...</c>).</summary>
    Task ImportImageAsync(string reference, Stream rootfs, IReadOnlyList<string> changes, CancellationToken cancellationToken);

    /// <summary>The local image for a reference, or null when the engine does not have it.</summary>
    Task<ImageInfo?> InspectImageAsync(string image, CancellationToken cancellationToken);

    /// <summary>Every local image.</summary>
    Task<IReadOnlyList<ImageInfo>> ListImagesAsync(CancellationToken cancellationToken);

    /// <summary>Removes one image reference (tag or id; the image goes with its last tag); false when it is in use or already gone.</summary>
    Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken);

    /// <summary>Whether a named volume exists.</summary>
    Task<bool> VolumeExistsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Removes every volume carrying all of <paramref name="labels"/> that no container uses; returns how many went.</summary>
    Task<int> RemoveVolumesAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    /// <summary>Creates (does not start) a container and returns its id.</summary>
    Task<string> CreateContainerAsync(ContainerCreateSpec spec, CancellationToken cancellationToken);

    /// <summary>Starts a created container.</summary>
    Task StartContainerAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="timeout"/>. A container already stopped is fine.</summary>
    Task StopContainerAsync(string containerId, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Removes a container (forcefully) with its anonymous volumes. A missing container is fine.</summary>
    Task RemoveContainerAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>The container's current state, or null when it does not exist.</summary>
    Task<ContainerDetails?> InspectContainerAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>All containers (running or not) carrying every one of <paramref name="labels"/>.</summary>
    Task<IReadOnlyList<ContainerDetails>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    /// <summary>Container lifecycle events (start, die, health_status, destroy, oom) for containers with <paramref name="labels"/>; ends when the engine goes away.</summary>
    IAsyncEnumerable<ContainerEvent> WatchEventsAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    /// <summary>
    /// The container's output, line by line with the engine's timestamps, as <paramref name="spec"/> asks (tail, since);
    /// with <see cref="LogReadSpec.Follow"/> it waits for more until the container stops.
    /// </summary>
    IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, LogReadSpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// The container's cumulative CPU time and current memory use from the engine's one-shot stats (no second sample
    /// to wait for: the caller keeps the previous CPU time); null when the container is gone or not running.
    /// </summary>
    Task<ContainerUsage?> GetUsageAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>Creates an exec in a running container and starts it attached; throws <see cref="ContainerRuntimeException"/> when the engine refuses.</summary>
    Task<IExecSession> StartExecAsync(string containerId, ExecSpec spec, CancellationToken cancellationToken);
}

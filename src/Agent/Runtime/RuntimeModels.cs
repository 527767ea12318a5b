namespace Berth.Agent.Runtime;

/// <summary>What the engine says about the host.</summary>
internal sealed record EngineInfo(string Id, string Name, int CpuCount, long MemoryBytes, string ServerVersion, string OperatingSystem, string Architecture, string RootDirectory)
{
    /// <summary>The OCI runtimes registered with the engine (<c>runc</c>, and <c>runsc</c> where gVisor is set up).</summary>
    public IReadOnlyList<string> Runtimes { get; init; } = [];

    /// <summary>The runtime containers get when they name none.</summary>
    public string DefaultRuntime { get; init; } = "runc";
}

/// <summary>Credentials for one registry, as the scheduler hands them out for a task.</summary>
internal sealed record RegistryCredential(string ServerAddress, string? Username, string? Password, string? IdentityToken = null)
{
    // Records print every member; a credential that ends up in a log line must not carry its secret there.
    public override string ToString() => $"RegistryCredential {{ ServerAddress = {ServerAddress}, Username = {Username} }}";
}

/// <summary>One progress line of a pull.</summary>
internal sealed record PullProgress(string? Layer, string Status, long? Current, long? Total);

/// <summary>A local image.</summary>
internal sealed record ImageInfo(string Id, IReadOnlyList<string> RepoTags, DateTimeOffset Created, long Size);

/// <summary>One port mapping; <see cref="HostPort"/> 0 lets the engine choose.</summary>
internal sealed record PortBindingSpec(int ContainerPort, string Protocol, int HostPort);

/// <summary>A Docker health check: <see cref="Test"/> is <c>["CMD", ...]</c> or <c>["CMD-SHELL", "..."]</c>.</summary>
internal sealed record HealthCheckSpec(IReadOnlyList<string> Test, TimeSpan Interval, TimeSpan Timeout, int Retries, TimeSpan StartPeriod);

/// <summary>How a mount is made: a host path bound in, or a Docker named volume.</summary>
internal enum MountKind
{
    Bind,
    Volume,
}

/// <summary>
/// One mount of a container. A bind of a missing host path creates the directory (as <c>docker run -v</c> does); a
/// volume that does not exist is created by the engine with <see cref="Driver"/>, <see cref="DriverOptions"/> and
/// <see cref="Labels"/> (unless <see cref="MustExist"/>, which the task engine checks first).
/// </summary>
internal sealed record MountSpec(MountKind Kind, string Source, string Target, bool ReadOnly)
{
    public string? Driver { get; init; }
    public IReadOnlyDictionary<string, string> DriverOptions { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>A shared volume without autoprovision: the task fails when it is missing instead of creating it.</summary>
    public bool MustExist { get; init; }
}

/// <summary>A Docker log driver and its options.</summary>
internal sealed record LogConfigSpec(string Driver, IReadOnlyDictionary<string, string> Options);

/// <summary>Everything needed to create one container.</summary>
internal sealed record ContainerCreateSpec
{
    public required string Name { get; init; }
    public required string Image { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyList<string>? EntryPoint { get; init; }
    public IReadOnlyList<PortBindingSpec> Ports { get; init; } = [];

    /// <summary>Relative weight (ECS cpu units map 1:1 to Docker's CPU shares); 0 leaves the default.</summary>
    public long CpuShares { get; init; }

    /// <summary>Hard CPU cap in billionths of a CPU; 0 means none.</summary>
    public long NanoCpus { get; init; }

    /// <summary>Hard memory limit in bytes; 0 means none.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Soft memory limit in bytes; 0 means none.</summary>
    public long MemoryReservationBytes { get; init; }

    public HealthCheckSpec? HealthCheck { get; init; }

    /// <summary>Docker network mode; null is the engine's default bridge.</summary>
    public string? NetworkMode { get; init; }

    public IReadOnlyList<MountSpec> Mounts { get; init; } = [];

    /// <summary>The log driver; null is the engine's default.</summary>
    public LogConfigSpec? Log { get; init; }

    /// <summary>The cgroup to create the container's own below (cgroupfs path); null is the engine's default.</summary>
    public string? CgroupParent { get; init; }

    /// <summary>The OCI runtime (<c>runsc</c> for gVisor); null is the engine's default.</summary>
    public string? Runtime { get; init; }

    /// <summary>Nameservers for the container's resolv.conf (not allowed with a <c>container:</c> network mode).</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];

    /// <summary>Docker's IPC mode (<c>private</c>); null is the engine's default.</summary>
    public string? IpcMode { get; init; }

    /// <summary>Docker's PID mode; null or empty is a PID namespace of the container's own.</summary>
    public string? PidMode { get; init; }

    /// <summary><c>no-new-privileges</c>: setuid binaries cannot gain privileges in the container.</summary>
    public bool NoNewPrivileges { get; init; }
}

/// <summary>Engine-level state of a container.</summary>
/// <summary>What a container (or a task's cgroup) has used: CPU time since it started, and memory now.</summary>
/// <param name="CpuNanos">CPU time, nanoseconds, cumulative.</param>
/// <param name="MemoryBytes">Memory in use without inactive file cache (what <c>docker stats</c> shows).</param>
internal readonly record struct ContainerUsage(long CpuNanos, long MemoryBytes);

internal enum ContainerRunState
{
    Created,
    Running,
    Exited,
    Other,
}

/// <summary>Docker's health status; <see cref="None"/> when the container has no health check.</summary>
internal enum ContainerHealth
{
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// <summary>A host port the engine bound for a container port.</summary>
internal sealed record HostPortBinding(int ContainerPort, string Protocol, int HostPort);

/// <summary>What the engine knows about a container.</summary>
internal sealed record ContainerDetails
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Image { get; init; }

    /// <summary>The id (<c>sha256:...</c>) of the image the container was created from, whatever its tags say now.</summary>
    public string? ImageId { get; init; }

    /// <summary>
    /// The digest the engine resolved for that image: the manifest digest the registry served when it was pulled (the
    /// image's repo digest for the container's repository), else <see cref="ImageId"/> for an image built or imported
    /// on the host (it has no manifest digest).
    /// </summary>
    public string? ImageDigest { get; init; }

    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public required ContainerRunState State { get; init; }
    public int? ExitCode { get; init; }
    public bool OomKilled { get; init; }
    public string? Error { get; init; }
    public ContainerHealth Health { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public IReadOnlyList<HostPortBinding> Ports { get; init; } = [];

    /// <summary>The host PID of the container's init process while it runs (0 otherwise): its namespaces are under /proc/PID/ns.</summary>
    public int Pid { get; init; }

    /// <summary>The OCI runtime it runs with.</summary>
    public string? Runtime { get; init; }
}

/// <summary>A container lifecycle event.</summary>
internal sealed record ContainerEvent(string ContainerId, string Action, IReadOnlyDictionary<string, string> Attributes, DateTimeOffset Time);

/// <summary>How to read a container's output (<c>docker logs</c> options).</summary>
internal sealed record LogReadSpec
{
    /// <summary>Keep reading new output until the container stops.</summary>
    public bool Follow { get; init; }

    /// <summary>Lines from the end to start with; null: all, 0: none.</summary>
    public int? Tail { get; init; }

    /// <summary>Only output recorded at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }
}

/// <summary>One line of container output, with the time the engine recorded it.</summary>
/// <param name="IsError">From standard error.</param>
/// <param name="Text">The line without its newline.</param>
/// <param name="Timestamp">The engine's time as it wrote it (RFC 3339 with nanoseconds), or null when unknown.</param>
internal sealed record LogLine(bool IsError, string Text, string? Timestamp = null)
{
    /// <summary><see cref="Timestamp"/> parsed; null when there is none or it cannot be read.</summary>
    public DateTimeOffset? Time => LogTimestamps.Parse(Timestamp);
}

/// <summary>The engine's log timestamps: RFC 3339 with up to nine fractional digits (.NET parses seven).</summary>
internal static class LogTimestamps
{
    public static DateTimeOffset? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }

    /// <summary>The engine's spelling of a time (<c>2026-12-03T10:00:00.123456700Z</c>), for lines that carry none.</summary>
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What to run in a container (an exec).</summary>
internal sealed record ExecSpec
{
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>Allocate a pseudo-terminal: one raw output stream, resizable.</summary>
    public bool Tty { get; init; }

    /// <summary>Attach standard input.</summary>
    public bool Stdin { get; init; }

    /// <summary>Extra environment, <c>NAME=value</c>.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    public string? User { get; init; }

    public string? WorkingDirectory { get; init; }
}

/// <summary>A chunk of an exec's output.</summary>
internal readonly record struct ExecOutput(bool IsError, ReadOnlyMemory<byte> Data);

/// <summary>A running exec, attached: its output, its input, its terminal size and, once it ends, its exit code.</summary>
internal interface IExecSession : IAsyncDisposable
{
    /// <summary>The engine's exec id.</summary>
    string Id { get; }

    /// <summary>Output until the command ends (or the session is disposed).</summary>
    IAsyncEnumerable<ExecOutput> ReadOutputAsync(CancellationToken cancellationToken);

    /// <summary>Writes to the command's standard input.</summary>
    Task WriteInputAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Closes the command's standard input (it reads end-of-file).</summary>
    Task CloseInputAsync(CancellationToken cancellationToken);

    /// <summary>Resizes the pseudo-terminal (only with a TTY).</summary>
    Task ResizeAsync(int rows, int columns, CancellationToken cancellationToken);

    /// <summary>The exit code once the command has ended; null while it runs.</summary>
    Task<int?> GetExitCodeAsync(CancellationToken cancellationToken);
}

/// <summary>A pull failed; the message is the engine's, ready for <c>CannotPullContainerError: ...</c>.</summary>
internal sealed class ImagePullException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The engine did not answer (socket gone, restart in progress).</summary>
internal sealed class EngineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The engine refused a request; <see cref="StatusCode"/> is its HTTP status (409: conflict, e.g. a name in use).</summary>
internal sealed class ContainerRuntimeException(string message, int statusCode, Exception? inner = null) : Exception(message, inner)
{
    public int StatusCode { get; } = statusCode;
}

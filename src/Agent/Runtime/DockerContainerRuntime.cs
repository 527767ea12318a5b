using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Berth.Agent.Runtime;

/// <summary><see cref="IContainerRuntime"/> over the Docker Engine API (pinned to 1.41, the engine 20.10 this runs on).</summary>
internal sealed class DockerContainerRuntime : IContainerRuntime, IDisposable
{
    /// <summary>Engine 20.10 speaks API 1.41; pinning it avoids a version negotiation round trip on every client.</summary>
    public static readonly System.Version ApiVersion = new(1, 41);

    private readonly DockerClient _client;
    private readonly ImageDigestResolver _digests;

    public DockerContainerRuntime(Uri endpoint)
    {
        Endpoint = endpoint;
        _client = new DockerClientBuilder().WithEndpoint(endpoint).WithApiVersion(ApiVersion).Build();
        _digests = new ImageDigestResolver(_client);
    }

    public Uri Endpoint { get; }

    public void Dispose() => _client.Dispose();

    public Task<EngineInfo> GetInfoAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        var info = await _client.System.GetSystemInfoAsync(cancellationToken);
        return new EngineInfo(info.ID, info.Name, (int)info.NCPU, info.MemTotal, info.ServerVersion, info.OperatingSystem, info.Architecture, info.DockerRootDir)
        {
            Runtimes = info.Runtimes?.Keys.Order(StringComparer.Ordinal).ToList() ?? [],
            DefaultRuntime = string.IsNullOrEmpty(info.DefaultRuntime) ? "runc" : info.DefaultRuntime,
        };
    });

    public async Task PullImageAsync(string image, RegistryCredential? credential, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        var (repository, tag) = SplitReference(image);
        string? streamError = null;
        var relay = new SynchronousProgress<JSONMessage>(m =>
        {
            if (m.Error is { Message: { Length: > 0 } message })
            {
                streamError = message;
            }

            progress?.Report(new PullProgress(m.ID, m.Status ?? string.Empty, m.Progress?.Current, m.Progress?.Total));
        });
        var auth = credential is null
            ? new AuthConfig()
            : new AuthConfig
            {
                ServerAddress = credential.ServerAddress,
                Username = credential.Username,
                Password = credential.Password,
                IdentityToken = credential.IdentityToken,
            };
        try
        {
            // The engine reports most pull failures inside the 200 progress stream, not as an HTTP status.
            await _client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = repository, Tag = tag }, auth, relay, cancellationToken);
        }
        catch (DockerApiException ex)
        {
            throw new ImagePullException(ExtractMessage(ex), ex);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new EngineUnavailableException($"Docker engine at {Endpoint} is unavailable: {ex.Message}", ex);
        }

        if (streamError is not null)
        {
            throw new ImagePullException(streamError);
        }
    }

    public Task ImportImageAsync(string reference, Stream rootfs, IReadOnlyList<string> changes, CancellationToken cancellationToken) => Guard(async () =>
    {
        var (repository, tag) = SplitReference(reference);
        string? streamError = null;
        var relay = new SynchronousProgress<JSONMessage>(m =>
        {
            if (m.Error is { Message: { Length: > 0 } message })
            {
                streamError = message;
            }
        });
        await _client.Images.CreateImageAsync(
            new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag, Changes = changes.ToList() },
            rootfs,
            new AuthConfig(),
            new Dictionary<string, string>(),
            relay,
            cancellationToken);
        if (streamError is not null)
        {
            throw new ContainerRuntimeException($"import of {reference} failed: {streamError}", 500);
        }

        return true;
    });

    public Task<ImageInfo?> InspectImageAsync(string image, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            var i = await _client.Images.InspectImageAsync(image, cancellationToken);
            return (ImageInfo?)new ImageInfo(i.ID, i.RepoTags?.ToArray() ?? [], i.Created is { } c ? new DateTimeOffset(c.ToUniversalTime()) : DateTimeOffset.MinValue, i.Size);
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    });

    public Task<IReadOnlyList<ImageInfo>> ListImagesAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        var images = await _client.Images.ListImagesAsync(new ImagesListParameters { All = false }, cancellationToken);
        return (IReadOnlyList<ImageInfo>)images
            .Select(i => new ImageInfo(i.ID, i.RepoTags?.Where(t => t != "<none>:<none>").ToArray() ?? [], new DateTimeOffset(i.Created.ToUniversalTime()), i.Size))
            .ToList();
    });

    public Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            await _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = false }, cancellationToken);
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            return false;
        }
    });

    public Task<string> CreateContainerAsync(ContainerCreateSpec spec, CancellationToken cancellationToken) => Guard(async () =>
    {
        var exposed = new Dictionary<string, EmptyStruct>();
        var bindings = new Dictionary<string, IList<PortBinding>>();
        foreach (var port in spec.Ports)
        {
            var key = $"{port.ContainerPort}/{port.Protocol.ToLowerInvariant()}";
            exposed[key] = default;
            bindings[key] = [new PortBinding { HostPort = port.HostPort == 0 ? string.Empty : port.HostPort.ToString(CultureInfo.InvariantCulture) }];
        }

        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Labels = spec.Labels.ToDictionary(),
            Env = spec.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
            Cmd = spec.Command?.ToList()!,
            Entrypoint = spec.EntryPoint?.ToList()!,
            ExposedPorts = exposed,
            Healthcheck = spec.HealthCheck is { } h
                ? new HealthcheckConfig { Test = h.Test.ToList(), Interval = h.Interval, Timeout = h.Timeout, Retries = h.Retries, StartPeriod = h.StartPeriod }
                : null,
            HostConfig = new HostConfig
            {
                PortBindings = bindings,
                CPUShares = spec.CpuShares,
                NanoCPUs = spec.NanoCpus,
                Memory = spec.MemoryBytes,
                MemoryReservation = spec.MemoryReservationBytes,
                NetworkMode = spec.NetworkMode!,
                Binds = spec.Mounts.Where(m => m.Kind == MountKind.Bind).Select(m => $"{m.Source}:{m.Target}:{(m.ReadOnly ? "ro" : "rw")}").ToList(),
                Mounts = spec.Mounts.Where(m => m.Kind == MountKind.Volume).Select(m => new Mount
                {
                    Type = "volume",
                    Source = m.Source,
                    Target = m.Target,
                    ReadOnly = m.ReadOnly,
                    VolumeOptions = new VolumeOptions
                    {
                        DriverConfig = new Driver { Name = m.Driver ?? "local", Options = m.DriverOptions.ToDictionary() },
                        Labels = m.Labels.ToDictionary(),
                    },
                }).ToList(),
                LogConfig = spec.Log is { } log ? new LogConfig { Type = log.Driver, Config = log.Options.ToDictionary() } : null!,
                CgroupParent = spec.CgroupParent!,
                Runtime = spec.Runtime!,
                DNS = spec.Dns.Count > 0 ? spec.Dns.ToList() : null!,
                IpcMode = spec.IpcMode!,
                PidMode = spec.PidMode!,
                SecurityOpt = spec.NoNewPrivileges ? ["no-new-privileges"] : null!,
            },
        };
        var response = await _client.Containers.CreateContainerAsync(parameters, cancellationToken);
        return response.ID;
    });

    public Task<bool> VolumeExistsAsync(string name, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            await _client.Volumes.InspectAsync(name, cancellationToken);
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    });

    public Task<int> RemoveVolumesAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken) => Guard(async () =>
    {
        var list = await _client.Volumes.ListAsync(new VolumesListParameters { Filters = LabelFilter(labels) }, cancellationToken);
        var removed = 0;
        foreach (var volume in list.Volumes ?? [])
        {
            try
            {
                await _client.Volumes.RemoveAsync(volume.Name, force: false, cancellationToken);
                removed++;
            }
            catch (DockerApiException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                // Gone already, or still used by a container (removed on a later pass).
            }
        }

        return removed;
    });

    public Task StartContainerAsync(string containerId, CancellationToken cancellationToken) => Guard(async () =>
    {
        await _client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), cancellationToken);
        return true;
    });

    public Task StopContainerAsync(string containerId, TimeSpan timeout, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            // The engine sends the image's stop signal (SIGTERM by default) and SIGKILL after the wait.
            await _client.Containers.StopContainerAsync(
                containerId,
                new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Max(0, Math.Ceiling(timeout.TotalSeconds)) },
                cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }

        return true;
    });

    public Task RemoveContainerAsync(string containerId, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            await _client.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict && (ex.ResponseBody ?? string.Empty).Contains("already in progress", StringComparison.Ordinal))
        {
        }

        return true;
    });

    public Task<ContainerDetails?> InspectContainerAsync(string containerId, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            return (ContainerDetails?)await WithDigestAsync(ToDetails(await _client.Containers.InspectContainerAsync(containerId, cancellationToken)), cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    });

    public Task<ContainerUsage?> GetUsageAsync(string containerId, CancellationToken cancellationToken) => Guard(async () =>
    {
        try
        {
            // one-shot: the engine answers at once instead of waiting a second for a "previous" CPU sample.
            ContainerStatsResponse? stats = null;
            await _client.Containers.GetContainerStatsAsync(containerId, new ContainerStatsParameters { Stream = false, OneShot = true }, new SynchronousProgress<ContainerStatsResponse>(s => stats = s), cancellationToken);
            if (stats?.CPUStats?.CPUUsage is not { } cpu || stats.MemoryStats is not { } memory)
            {
                return (ContainerUsage?)null;
            }

            // docker stats: usage minus inactive file cache (cgroup v1 total_inactive_file, v2 inactive_file).
            var inactive = 0UL;
            if (memory.Stats is { } s && !s.TryGetValue("total_inactive_file", out inactive))
            {
                s.TryGetValue("inactive_file", out inactive);
            }

            var usage = memory.Usage ?? 0;
            var used = usage > inactive ? usage - inactive : usage;
            return new ContainerUsage((long)cpu.TotalUsage, (long)used);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    });

    public Task<IReadOnlyList<ContainerDetails>> ListContainersAsync(IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken) => Guard(async () =>
    {
        var list = await _client.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = LabelFilter(labels) },
            cancellationToken);
        var result = new List<ContainerDetails>(list.Count);
        foreach (var summary in list)
        {
            try
            {
                result.Add(await WithDigestAsync(ToDetails(await _client.Containers.InspectContainerAsync(summary.ID, cancellationToken)), cancellationToken));
            }
            catch (DockerContainerNotFoundException)
            {
                // Removed between the list and the inspect.
            }
        }

        return (IReadOnlyList<ContainerDetails>)result;
    });

    public async IAsyncEnumerable<ContainerEvent> WatchEventsAsync(IReadOnlyDictionary<string, string> labels, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<ContainerEvent>(new UnboundedChannelOptions { SingleReader = true });
        var filters = LabelFilter(labels);
        filters["type"] = new Dictionary<string, bool> { ["container"] = true };
        var progress = new SynchronousProgress<Message>(m =>
        {
            var time = m.TimeNano is { } ns ? DateTimeOffset.UnixEpoch.AddTicks(ns / 100) : DateTimeOffset.UtcNow;
            channel.Writer.TryWrite(new ContainerEvent(
                m.Actor?.ID ?? string.Empty,
                m.Action ?? string.Empty,
                m.Actor?.Attributes?.ToDictionary() ?? [],
                time));
        });
        var pump = Task.Run(async () =>
        {
            try
            {
                await _client.System.MonitorEventsAsync(new ContainerEventsParameters { Filters = filters }, progress, cancellationToken);
                channel.Writer.TryComplete(new EngineUnavailableException($"The event stream from {Endpoint} ended."));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(new EngineUnavailableException($"The event stream from {Endpoint} failed: {ex.Message}", ex));
            }
        }, CancellationToken.None);

        await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken))
        {
            yield return e;
        }

        await pump;
    }

    public async IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, LogReadSpec spec, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = spec.Follow,
            // Always with the engine's timestamps: they serve --since on saved lines and --timestamps alike.
            Timestamps = true,
            Tail = spec.Tail is { } tail ? tail.ToString(CultureInfo.InvariantCulture) : "all",
            Since = spec.Since is { } since ? (since.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture) : null,
        };
        using var stream = await Guard(() => _client.Containers.GetContainerLogsAsync(containerId, parameters, cancellationToken));
        var buffer = new byte[16 * 1024];
        var pending = new Dictionary<bool, StringBuilder> { [false] = new(), [true] = new() };
        while (true)
        {
            MultiplexedStream.ReadResult read;
            try
            {
                read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (read.EOF)
            {
                break;
            }

            var isError = read.Target == MultiplexedStream.TargetStream.StandardError;
            var text = pending[isError].Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
            int newline;
            while ((newline = IndexOf(text, '\n')) >= 0)
            {
                yield return WithTimestamp(isError, text.ToString(0, newline).TrimEnd('\r'));
                text.Remove(0, newline + 1);
            }
        }

        foreach (var (isError, text) in pending)
        {
            if (text.Length > 0)
            {
                yield return WithTimestamp(isError, text.ToString());
            }
        }
    }

    public Task<IExecSession> StartExecAsync(string containerId, ExecSpec spec, CancellationToken cancellationToken) =>
        Guard(() => DockerExecSession.StartAsync(_client, containerId, spec, cancellationToken));

    /// <summary>With timestamps the engine starts every line with its RFC 3339 time and a space.</summary>
    private static LogLine WithTimestamp(bool isError, string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && LogTimestamps.Parse(line[..space]) is not null
            ? new LogLine(isError, line[(space + 1)..], line[..space])
            : new LogLine(isError, line);
    }

    /// <summary>Splits <c>repo:tag</c> / <c>repo@digest</c>; without either the engine would pull every tag, so default to latest.</summary>
    internal static (string Repository, string Tag) SplitReference(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return (image[..at], image[(at + 1)..]);
        }

        var colon = image.LastIndexOf(':');
        var slash = image.LastIndexOf('/');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    private static int IndexOf(StringBuilder text, char c)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == c)
            {
                return i;
            }
        }

        return -1;
    }

    private static Dictionary<string, IDictionary<string, bool>> LabelFilter(IReadOnlyDictionary<string, string> labels) => new()
    {
        ["label"] = labels.ToDictionary(l => $"{l.Key}={l.Value}", _ => true),
    };

    private async Task<ContainerDetails> WithDigestAsync(ContainerDetails details, CancellationToken cancellationToken) =>
        details.ImageId is { Length: > 0 } id ? details with { ImageDigest = await _digests.ResolveAsync(id, details.Image, cancellationToken) } : details;

    internal static ContainerDetails ToDetails(ContainerInspectResponse c)
    {
        var ports = new List<HostPortBinding>();
        foreach (var (key, list) in c.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
        {
            var parts = key.Split('/');
            if (list is null || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var containerPort))
            {
                continue;
            }

            // The engine lists one binding per address family (0.0.0.0 and ::), and for an ephemeral port it may give
            // the two families different host ports (Docker 20.10 does, now and then). The task reports the IPv4 ones,
            // the ports its instance's address and the balancers reach; IPv6 ones only when there is no IPv4 binding.
            var ipv4 = list.Where(b => b.HostIP is not { } ip || !ip.Contains(':', StringComparison.Ordinal)).ToList();
            var reported = ipv4.Count > 0 ? ipv4 : list;
            foreach (var hostPort in reported.Select(b => int.TryParse(b.HostPort, CultureInfo.InvariantCulture, out var p) ? p : 0).Where(p => p > 0).Distinct())
            {
                ports.Add(new HostPortBinding(containerPort, parts.Length > 1 ? parts[1] : "tcp", hostPort));
            }
        }

        var state = c.State;
        return new ContainerDetails
        {
            Id = c.ID,
            Name = c.Name.TrimStart('/'),
            Image = c.Config?.Image ?? c.Image,
            ImageId = c.Image,
            Labels = c.Config?.Labels?.ToDictionary() ?? [],
            State = state?.Status switch
            {
                "created" => ContainerRunState.Created,
                "running" or "paused" or "restarting" => ContainerRunState.Running,
                "exited" or "dead" => ContainerRunState.Exited,
                _ => ContainerRunState.Other,
            },
            ExitCode = state?.Status is "exited" or "dead" ? (int)state.ExitCode : null,
            OomKilled = state?.OOMKilled ?? false,
            Error = string.IsNullOrEmpty(state?.Error) ? null : state.Error,
            Health = state?.Health?.Status switch
            {
                "starting" => ContainerHealth.Starting,
                "healthy" => ContainerHealth.Healthy,
                "unhealthy" => ContainerHealth.Unhealthy,
                _ => ContainerHealth.None,
            },
            StartedAt = ParseTime(state?.StartedAt),
            FinishedAt = ParseTime(state?.FinishedAt),
            Ports = ports,
            Pid = state?.Running == true ? (int)state.Pid : 0,
            Runtime = c.HostConfig?.Runtime,
        };
    }

    private static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) && t.Year > 1 ? t : null;

    private static string ExtractMessage(DockerApiException ex)
    {
        var body = ex.ResponseBody?.Trim() ?? string.Empty;
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 0 ? body : ex.Message;
    }

    private static bool IsUnavailable(Exception ex) =>
        ex is HttpRequestException or SocketException or IOException or TimeoutException
        || (ex is TaskCanceledException t && t.InnerException is TimeoutException)
        || (ex.InnerException is { } inner && IsUnavailable(inner));

    private async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DockerApiException ex)
        {
            throw new ContainerRuntimeException(ExtractMessage(ex), (int)ex.StatusCode, ex);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new EngineUnavailableException($"Docker engine at {Endpoint} is unavailable: {ex.Message}", ex);
        }
    }

    /// <summary>Unlike <see cref="Progress{T}"/>, reports on the caller's thread, so events keep their order.</summary>
    private sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
    {
        public void Report(T value) => handler(value);
    }
}

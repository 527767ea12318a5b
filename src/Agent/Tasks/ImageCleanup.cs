using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>How full the disk that holds the engine's images is.</summary>
internal interface IDiskUsageProbe
{
    /// <summary>Used space in percent of the filesystem holding <paramref name="path"/>.</summary>
    double UsedPercent(string path);
}

/// <summary>Reads the filesystem's numbers (statvfs through <see cref="DriveInfo"/>).</summary>
internal sealed class DriveDiskUsageProbe : IDiskUsageProbe
{
    public double UsedPercent(string path)
    {
        var drive = new DriveInfo(path);
        return drive.TotalSize == 0 ? 0 : 100.0 * (drive.TotalSize - drive.AvailableFreeSpace) / drive.TotalSize;
    }
}

/// <summary>Which images may go, in which order: a pure function, so the rules are unit tests.</summary>
internal static class ImageCleanupPlanner
{
    /// <summary>
    /// Images this agent ran (<paramref name="lastUsed"/>), unused by any container and by any task it knows,
    /// unused for at least <paramref name="minimumAge"/>; least recently used first.
    /// </summary>
    public static IReadOnlyList<ImageInfo> Candidates(
        IReadOnlyList<ImageInfo> images,
        IReadOnlyDictionary<string, DateTimeOffset> lastUsed,
        IReadOnlySet<string> inUseImageIds,
        IReadOnlySet<string> inUseReferences,
        DateTimeOffset now,
        TimeSpan minimumAge)
    {
        return images
            .Where(i => !inUseImageIds.Contains(i.Id) && !i.RepoTags.Any(inUseReferences.Contains))
            .Select(i => (Image: i, Used: i.RepoTags.Where(lastUsed.ContainsKey).Select(t => (DateTimeOffset?)lastUsed[t]).Max()))
            .Where(x => x.Used is { } used && now - used >= minimumAge)
            .OrderBy(x => x.Used)
            .ThenBy(x => x.Image.Created)
            .Select(x => x.Image)
            .ToList();
    }
}

/// <summary>Every <c>ImageCleanup.Interval</c>: while the disk is fuller than the threshold, removes the least recently used unused image.</summary>
internal sealed partial class ImageCleanupService(
    IContainerRuntime runtime,
    TaskEngine engine,
    ImageStore images,
    IDiskUsageProbe disk,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<ImageCleanupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value.ImageCleanup;
        if (!o.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(o.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CleanOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is EngineUnavailableException or ContainerRuntimeException or IOException)
            {
                LogCleanupFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>One round; returns the references removed.</summary>
    public async Task<IReadOnlyList<string>> CleanOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value.ImageCleanup;
        var info = await runtime.GetInfoAsync(cancellationToken);
        var removed = new List<string>();
        if (disk.UsedPercent(info.RootDirectory) <= o.DiskUsageThresholdPercent)
        {
            return removed;
        }

        // Every container on the engine counts, not only ours: an image anything uses stays.
        var containers = await runtime.ListContainersAsync(new Dictionary<string, string>(), cancellationToken);
        var inUseIds = new HashSet<string>(StringComparer.Ordinal);
        var inUseRefs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            inUseRefs.Add(c.Image);
            if (c.ImageId is { Length: > 0 } imageId)
            {
                inUseIds.Add(imageId);
            }
            else if (await runtime.InspectImageAsync(c.Image, cancellationToken) is { } image)
            {
                inUseIds.Add(image.Id);
            }
        }

        foreach (var report in engine.Snapshot())
        {
            foreach (var c in report.Containers.Where(c => c.Image is not null))
            {
                inUseRefs.Add(c.Image!);
            }
        }

        var candidates = ImageCleanupPlanner.Candidates(await runtime.ListImagesAsync(cancellationToken), images.LastUsed, inUseIds, inUseRefs, time.GetUtcNow(), o.MinimumAge);
        foreach (var image in candidates)
        {
            if (disk.UsedPercent(info.RootDirectory) <= o.DiskUsageThresholdPercent)
            {
                break;
            }

            foreach (var tag in image.RepoTags)
            {
                if (await runtime.RemoveImageAsync(tag, cancellationToken))
                {
                    images.Forget(tag);
                    removed.Add(tag);
                    LogRemoved(logger, tag);
                }
            }
        }

        return removed;
    }
}

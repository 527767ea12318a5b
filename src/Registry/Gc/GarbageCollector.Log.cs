namespace Berth.Registry.Gc;

internal sealed partial class GarbageCollector
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Garbage collection deleted {Manifests} manifests and {Blobs} blobs ({Bytes} bytes)")]
    private static partial void LogRun(ILogger logger, long manifests, long blobs, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Garbage collection {Phase}: {Reviewed} queue entries, {Deleted} deleted, {ElapsedMs:F0} ms ({PausedMs:F0} ms paused for requests), process CPU {CpuMs:F0} ms")]
    private static partial void LogPhase(ILogger logger, string phase, long reviewed, long deleted, double elapsedMs, double pausedMs, double cpuMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Garbage collection stopped early; the next run goes on")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

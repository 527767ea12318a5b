namespace Berth.Registry.Gc;

internal sealed partial class GarbageCollector
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Garbage collection deleted {Manifests} manifests and {Blobs} blobs ({Bytes} bytes)")]
    private static partial void LogRun(ILogger logger, long manifests, long blobs, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Garbage collection stopped early; the next run goes on")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

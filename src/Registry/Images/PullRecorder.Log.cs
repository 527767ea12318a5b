namespace Berth.Registry.Images;

internal sealed partial class PullRecorder
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Recorded the last pull time of {Count} manifests")]
    private static partial void LogFlushed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record last pull times; this batch is lost")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}

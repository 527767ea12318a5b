namespace Berth.Registry.Notifications;

internal sealed partial class PullEvents
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Count} pull events for notification endpoints")]
    private static partial void LogFlushed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} pull events: {Max} were waiting to be written (Registry:Notifications:MaxPendingPulls)")]
    private static partial void LogDropped(ILogger logger, long count, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue pull events for notification endpoints; this batch is lost")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}

namespace Berth.Registry.Batching;

internal sealed partial class BatchWorker
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Wrote {Count} {Batch}")]
    private static partial void LogWritten(ILogger logger, int count, string batch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} {Batch}: {Capacity} were waiting to be written ({Setting})")]
    private static partial void LogDropped(ILogger logger, long count, string batch, int capacity, string setting);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Batch}; this batch is lost")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string batch);
}

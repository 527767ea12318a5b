namespace Berth.Registry.Uploads;

internal sealed partial class UploadManager
{
    [LoggerMessage(1, LogLevel.Debug, "Upload {UploadId} started in {Repository}")]
    private static partial void LogStarted(ILogger logger, string uploadId, string repository);

    [LoggerMessage(2, LogLevel.Information, "Blob {Digest} ({Size} bytes) committed to {Repository}")]
    private static partial void LogCommitted(ILogger logger, string digest, long size, string repository);

    [LoggerMessage(3, LogLevel.Warning, "Upload {UploadId} rejected: client said {Expected}, content is {Actual}")]
    private static partial void LogDigestMismatch(ILogger logger, string uploadId, string expected, string actual);

    [LoggerMessage(4, LogLevel.Information, "Upload {UploadId} resumed after a restart at offset {Offset}")]
    private static partial void LogResumed(ILogger logger, string uploadId, long offset);

    [LoggerMessage(5, LogLevel.Information, "Removed interrupted upload {UploadId}")]
    private static partial void LogInterruptedRemoved(ILogger logger, string uploadId);

    [LoggerMessage(7, LogLevel.Information, "Upload {UploadId} in {Repository} expired")]
    private static partial void LogExpired(ILogger logger, string uploadId, string repository);

    [LoggerMessage(6, LogLevel.Information, "Restored {Count} upload sessions")]
    private static partial void LogRestored(ILogger logger, int count);
}

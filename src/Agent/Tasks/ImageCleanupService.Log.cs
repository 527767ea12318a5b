namespace Berth.Agent.Tasks;

internal sealed partial class ImageCleanupService
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Image cleanup removed {Image}")]
    private static partial void LogRemoved(ILogger logger, string image);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Image cleanup failed: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string reason);
}

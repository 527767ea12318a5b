namespace Berth.Registry.Uploads;

internal sealed partial class UploadJanitor
{
    [LoggerMessage(1, LogLevel.Information, "Removed {Count} abandoned uploads")]
    private static partial void LogExpired(ILogger logger, int count);
}

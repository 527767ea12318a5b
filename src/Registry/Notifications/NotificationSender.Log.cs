namespace Berth.Registry.Notifications;

internal sealed partial class NotificationSender
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Delivered {Count} events to notification endpoint {Endpoint}")]
        public static partial void Delivered(ILogger logger, int count, string endpoint);

        [LoggerMessage(2, LogLevel.Warning, "Notification endpoint {Endpoint} failed: {Error}; retrying in {Backoff}")]
        public static partial void DeliveryFailed(ILogger logger, string endpoint, string error, TimeSpan backoff);
    }
}

namespace Berth.Agent.Networking;

internal sealed partial class NetworkSyncLoop
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Task network sync failed: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string reason);
}

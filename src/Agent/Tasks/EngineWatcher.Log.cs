namespace Berth.Agent.Tasks;

internal sealed partial class EngineWatcher
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Engine event {Action} for {ContainerId}")]
    private static partial void LogEvent(ILogger logger, string action, string containerId);
}

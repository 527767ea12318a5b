namespace Berth.Scheduler.Sessions;

internal sealed partial class AgentSessionService
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Session {Generation} of container instance {InstanceId} started")]
        public static partial void SessionStarted(ILogger logger, string instanceId, long generation);

        [LoggerMessage(2, LogLevel.Debug, "Session {Generation} of container instance {InstanceId} ended")]
        public static partial void SessionEnded(ILogger logger, string instanceId, long generation);
    }
}

namespace Berth.Scheduler.Exec;

internal sealed partial class ExecHandler
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Exec session {SessionId} started by {Caller}: cluster {Cluster}, task {TaskId}, container {Container}, command {Command} (tty {Tty}), on instance {InstanceId}")]
        public static partial void SessionStarted(ILogger logger, string sessionId, string caller, string cluster, string taskId, string container, string command, bool tty, string instanceId);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Exec session {SessionId} by {Caller} ended: cluster {Cluster}, task {TaskId}, container {Container}, command {Command}: {Result}")]
        public static partial void SessionEnded(ILogger logger, string sessionId, string caller, string cluster, string taskId, string container, string command, string result);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Exec session {SessionId}: no event recorded on service {Service}: {Reason}")]
        public static partial void EventNotRecorded(ILogger logger, string sessionId, string service, string reason);
    }
}

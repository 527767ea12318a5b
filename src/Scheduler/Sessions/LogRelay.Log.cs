namespace Berth.Scheduler.Sessions;

internal sealed partial class LogRelay
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Log stream {StreamId} opened: task {TaskId} container {Container} on {InstanceId} (follow {Follow})")]
        public static partial void Opened(ILogger logger, string streamId, string taskId, string container, string instanceId, bool follow);

        [LoggerMessage(2, LogLevel.Debug, "Log stream {StreamId} closed: {Reason}")]
        public static partial void Closed(ILogger logger, string streamId, string reason);
    }
}

namespace Berth.Agent.Sessions;

internal sealed partial class SessionClient
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Registered as container instance {InstanceId} in cluster {Cluster}")]
    private static partial void LogRegistered(ILogger logger, string instanceId, string cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming as container instance {InstanceId} in cluster {Cluster}")]
    private static partial void LogResuming(ILogger logger, string instanceId, string cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session accepted for {InstanceId}; heartbeat every {HeartbeatMs} ms")]
    private static partial void LogConnected(ILogger logger, string instanceId, double heartbeatMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session ended: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnecting in {DelayMs:0} ms")]
    private static partial void LogReconnecting(ILogger logger, double delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "The scheduler's port opened: reconnecting now")]
    private static partial void LogSchedulerPortOpened(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log stream {StreamId} started: task {TaskId} container {Container} (follow {Follow})")]
    private static partial void LogLogStreamStarted(ILogger logger, string streamId, string taskId, string container, bool follow);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log stream {StreamId} ended: {Reason}")]
    private static partial void LogLogStreamEnded(ILogger logger, string streamId, string reason);
}

namespace Berth.Agent.Tasks;

internal sealed partial class TaskEngine
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Desired state version {Version} applied: {Count} tasks")]
    private static partial void LogDesiredApplied(ILogger logger, long version, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted task {TaskId} with {Count} containers")]
    private static partial void LogAdopted(ILogger logger, string taskId, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: {From} -> {To} {Reason}")]
    private static partial void LogPhase(ILogger logger, string taskId, LocalStatus from, LocalStatus to, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: stopping {Container} (SIGKILL after {Seconds} s)")]
    private static partial void LogStopping(ILogger logger, string taskId, string container, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: started {Container} ({ContainerId})")]
    private static partial void LogStarted(ILogger logger, string taskId, string container, string containerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: {Container} failed: {Reason}")]
    private static partial void LogLaunchFailed(ILogger logger, string taskId, string container, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId}: action failed")]
    private static partial void LogActionFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId}: stopped, not desired, containers removed")]
    private static partial void LogForgotten(ILogger logger, string taskId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskId}: reporting {Status}, health {Health}")]
    private static partial void LogReport(ILogger logger, string taskId, LocalStatus status, TaskHealth health);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker engine unavailable: {Reason}")]
    private static partial void LogEngineDown(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Docker engine is back; reconciling")]
    private static partial void LogEngineUp(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Desired state version {Version}: {Warning}")]
    private static partial void LogDesiredWarning(ILogger logger, long version, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released the address of sandbox {SandboxId}, which is gone from the engine")]
    private static partial void LogOrphanReleased(ILogger logger, string sandboxId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing the address of {Owner} failed (retried): {Reason}")]
    private static partial void LogReleaseFailed(ILogger logger, string owner, string reason);
}

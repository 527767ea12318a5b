namespace Berth.Agent.Isolation;

internal sealed partial class TaskCgroups
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot remove cgroup {Path}: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string path, string reason);
}

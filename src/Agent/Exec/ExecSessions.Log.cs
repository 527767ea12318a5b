namespace Berth.Agent.Exec;

internal sealed partial class ExecSessions
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Exec {SessionId} in task {TaskId} container {Container}: {Command} (tty {Tty})")]
    private static partial void LogStarted(ILogger logger, string sessionId, string taskId, string container, IEnumerable<string> command, bool tty);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exec {SessionId} ended with exit code {ExitCode}")]
    private static partial void LogEnded(ILogger logger, string sessionId, int? exitCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exec {SessionId} cancelled")]
    private static partial void LogCancelled(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exec {SessionId} refused for task {Task}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string sessionId, string task, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exec {SessionId} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string sessionId, string error);
}

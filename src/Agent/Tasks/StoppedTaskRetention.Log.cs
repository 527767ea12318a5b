namespace Berth.Agent.Tasks;

internal sealed partial class StoppedTaskRetention
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} stopped: its {Containers} container(s) are kept for {Minutes:0} min")]
    private static partial void LogRetained(ILogger logger, string taskId, int containers, double minutes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the containers of stopped task {TaskId}: {Why}")]
    private static partial void LogRemoved(ILogger logger, string taskId, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the saved output of {Count} task(s) past their retention")]
    private static partial void LogSavedLinesExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not save the output of task {TaskId} container {Container}: {Error}")]
    private static partial void LogNotSaved(ILogger logger, string taskId, string container, string error);
}

namespace Berth.Scheduler.Persistence;

internal sealed partial class SqliteSchedulerStore
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Committing {Count} change sets to the database failed; none was acknowledged")]
        public static partial void CommitFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(2, LogLevel.Information, "Converted {Count} rows written by an older scheduler to the stored format")]
        public static partial void Converted(ILogger logger, int count);

        [LoggerMessage(3, LogLevel.Warning, "Task {TaskId} refers to task definition {Arn}, which is not stored; skipped")]
        public static partial void TaskWithoutDefinition(ILogger logger, string taskId, string arn);

        [LoggerMessage(60, LogLevel.Warning, "Service {Cluster}/{Service} is stored without a deployment; skipped")]
        public static partial void ServiceWithoutDeployment(ILogger logger, string cluster, string service);

        [LoggerMessage(61, LogLevel.Warning, "Service {Cluster}/{Service} runs task definition {Arn}, which is not stored; skipped")]
        public static partial void ServiceWithoutDefinition(ILogger logger, string cluster, string service, string arn);
    }
}

namespace Berth.Scheduler.State;

internal sealed partial class SchedulerState
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "State loaded: {Clusters} clusters, {Instances} container instances, {Tasks} tasks in {ElapsedMs:F0} ms ({MigrateMs:F0} ms of it opening and migrating the database)")]
        public static partial void Loaded(ILogger logger, int clusters, int instances, int tasks, double elapsedMs, double migrateMs);

        [LoggerMessage(2, LogLevel.Critical, "A state change could not be stored; stopping so that a restart reloads the durable state")]
        public static partial void CommitFailedStopping(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Warning, "Task {TaskId} refers to task definition {Arn}, which is not stored; skipped")]
        public static partial void TaskWithoutDefinition(ILogger logger, string taskId, string arn);

        [LoggerMessage(4, LogLevel.Information, "Container instance {InstanceId} registered in cluster {Cluster} with {Cpu} cpu units and {Memory} MiB")]
        public static partial void InstanceRegistered(ILogger logger, string instanceId, string cluster, int cpu, int memory);

        [LoggerMessage(5, LogLevel.Warning, "Container instance {InstanceId} declared lost after {Seconds:F1} s of silence; {Count} of its tasks are now UNKNOWN")]
        public static partial void InstanceLost(ILogger logger, string instanceId, double seconds, int count);
    }
}

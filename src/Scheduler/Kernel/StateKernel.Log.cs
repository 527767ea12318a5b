namespace Berth.Scheduler.Kernel;

internal sealed partial class StateKernel
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "State loaded: {Clusters} clusters, {Instances} container instances, {Tasks} tasks in {ElapsedMs:F0} ms ({OpenMs:F0} ms of it opening and migrating the database)")]
        public static partial void Loaded(ILogger logger, int clusters, int instances, int tasks, double elapsedMs, double openMs);

        [LoggerMessage(2, LogLevel.Critical, "A state change could not be stored; stopping so that a restart reloads the durable state")]
        public static partial void CommitFailedStopping(ILogger logger, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "Change observer {Observer} failed")]
        public static partial void ObserverFailed(ILogger logger, string observer, Exception exception);
    }
}

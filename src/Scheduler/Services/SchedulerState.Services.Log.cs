namespace Berth.Scheduler.State;

internal sealed partial class SchedulerState
{
    // Event ids 60-69 belong to services.
    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "Service {Cluster}/{Service} is stored without a deployment; skipped")]
        public static partial void ServiceWithoutDeployment(ILogger logger, string cluster, string service);

        [LoggerMessage(61, LogLevel.Warning, "Service {Cluster}/{Service} runs task definition {Arn}, which is not stored; skipped")]
        public static partial void ServiceWithoutDefinition(ILogger logger, string cluster, string service, string arn);

        [LoggerMessage(62, LogLevel.Information, "{Message}")]
        public static partial void ServiceEvent(ILogger logger, string message);
    }
}

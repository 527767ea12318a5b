namespace Berth.Scheduler.Networking;

internal sealed partial class HostNetworkObserver
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Host routes of cluster {Cluster} not published: {Reason}")]
        public static partial void ClusterGone(ILogger logger, string cluster, string reason);
    }
}

using System.Net;

namespace Berth.LoadBalancer.TaskRoutes;

internal sealed partial class TaskRouteTable
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Route to task subnet {Subnet} via {Via} ({InstanceId}) added")]
    private static partial void LogRouteAdded(ILogger logger, string subnet, IPAddress via, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route to task subnet {Subnet} via {Via} ({InstanceId}) skipped: {Reason}")]
    private static partial void LogRouteSkipped(ILogger logger, string subnet, IPAddress via, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route to task subnet {Subnet} removed (no longer wanted: its host left the cluster, or no ip target group is served)")]
    private static partial void LogRouteRemoved(ILogger logger, string subnet);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route to task subnet {Subnet} could not be removed: {Reason}")]
    private static partial void LogRemoveFailed(ILogger logger, string subnet, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route to task subnet {Subnet} is no longer this balancer's (deleted or replaced by someone else); it is left alone")]
    private static partial void LogRouteLost(ILogger logger, string subnet);
}

namespace Berth.LoadBalancer.TaskRoutes;

internal sealed partial class TaskRouteProgrammer
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Balancer:TaskRoutes is auto and this process lacks CAP_NET_ADMIN: the routes to the cluster's task subnets must be provided by the operator ({Routes}); ip targets are unreachable without them")]
    private static partial void LogNoCapability(ILogger logger, string routes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Balancer:TaskRoutes is off: the operator provides the routes to the cluster's task subnets ({Routes})")]
    private static partial void LogOperatorRoutes(ILogger logger, string routes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Routes to task subnets not synchronised; next pass tries again: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string reason);
}

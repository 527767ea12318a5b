namespace Berth.Agent.Networking;

internal sealed partial class HostNetwork
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Task bridge {Bridge} has the gateway address {Address}")]
    private static partial void LogBridgeAddress(ILogger logger, string bridge, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route to peer task subnet {Subnet} via {Via} ({InstanceId})")]
    private static partial void LogRouteAdded(ILogger logger, string subnet, System.Net.IPAddress via, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route to peer task subnet {Subnet} via {Via} failed: {Reason}")]
    private static partial void LogRouteFailed(ILogger logger, string subnet, System.Net.IPAddress via, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route to task subnet {Subnet} removed (no longer a peer)")]
    private static partial void LogRouteRemoved(ILogger logger, string subnet);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bridge netfilter is not available (modprobe br_netfilter): security groups do not hold between tasks of this host ({Reason})")]
    private static partial void LogNoBridgeNetfilter(ILogger logger, string reason);
}

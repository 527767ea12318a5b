using System.Net;

namespace Berth.Agent.Dns;

internal sealed partial class ServiceDiscoveryServer
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Service discovery DNS on {Endpoint}; other names go to {Upstreams}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint, string upstreams);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service discovery DNS cannot listen on {Endpoint}: {Reason}; retrying")]
    private static partial void LogBindFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service discovery DNS: {Reason}")]
    private static partial void LogServerError(ILogger logger, string reason);
}

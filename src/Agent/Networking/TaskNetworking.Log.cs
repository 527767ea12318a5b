using Microsoft.Extensions.Logging;

namespace Berth.Agent.Networking;

internal sealed partial class TaskNetworking
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} attached: {Address} ({Mac})")]
    private static partial void LogAttached(ILogger logger, string sandboxId, System.Net.IPAddress address, string mac);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} detached: its address is free again")]
    private static partial void LogDetached(ILogger logger, string sandboxId);
}

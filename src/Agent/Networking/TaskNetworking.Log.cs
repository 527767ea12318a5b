namespace Berth.Agent.Networking;

internal sealed partial class TaskNetworking
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} attached: {Address} ({Mac})")]
    private static partial void LogAttached(ILogger logger, string sandboxId, System.Net.IPAddress address, string mac);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} names security group {GroupId}, which the desired state does not describe: it grants nothing")]
    private static partial void LogUnknownGroup(ILogger logger, string taskId, string groupId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId} detached: its address is free again")]
    private static partial void LogDetached(ILogger logger, string sandboxId);
}

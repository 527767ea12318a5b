namespace Berth.Scheduler.Provisioning;

internal sealed partial class HostProvisioning
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating host {HostName} failed (attempt {Attempt} of {Attempts}): {Reason}; destroying what it made")]
    private static partial void LogCreateFailed(ILogger logger, string hostName, int attempt, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating host {HostName} was cancelled; destroying what it made")]
    private static partial void LogCreateCancelled(ILogger logger, string hostName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Destroying host {HostName} failed (attempt {Attempt} of {Attempts}): {Reason}")]
    private static partial void LogDestroyFailed(ILogger logger, string hostName, int attempt, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {HostName} ({State}) is not claimed: destroying it")]
    private static partial void LogOrphan(ILogger logger, string hostName, ProvisionedHostState state);
}

namespace Berth.Scheduler.Provisioning.Lab;

internal sealed partial class LabHostProvisioner
{
    [LoggerMessage(Level = LogLevel.Information, Message = "lab provisioner: creating host {HostName} for cluster {Cluster} in zone '{Zone}'")]
    private static partial void LogCreating(ILogger logger, string hostName, string cluster, string zone);

    [LoggerMessage(Level = LogLevel.Information, Message = "lab provisioner: host {HostName} at {Address} registered as {InstanceArn}")]
    private static partial void LogCreated(ILogger logger, string hostName, string address, string instanceArn);

    [LoggerMessage(Level = LogLevel.Information, Message = "lab provisioner: host {HostName} destroyed")]
    private static partial void LogDestroyed(ILogger logger, string hostName);
}

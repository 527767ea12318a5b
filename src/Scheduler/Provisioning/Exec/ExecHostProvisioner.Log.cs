namespace Berth.Scheduler.Provisioning.Exec;

internal sealed partial class ExecHostProvisioner
{
    [LoggerMessage(Level = LogLevel.Information, Message = "exec provisioner: running {Action} for host {HostName}")]
    private static partial void LogRunning(ILogger logger, string action, string hostName);
}

using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Agent.Sessions;

/// <summary>The agent's <see cref="TaskStatusReport"/> as the protocol's <see cref="TaskReport"/>.</summary>
internal static class ReportMapper
{
    public static TaskReport Map(TaskStatusReport r)
    {
        var report = new TaskReport
        {
            TaskId = r.TaskId,
            Sequence = r.Sequence,
            LastStatus = Status(r.Status),
            StopCode = r.StopCode switch
            {
                TaskStopCode.TaskFailedToStart => StopCode.TaskFailedToStart,
                TaskStopCode.EssentialContainerExited => StopCode.EssentialContainerExited,
                TaskStopCode.UserInitiated => StopCode.UserInitiated,
                TaskStopCode.ServiceSchedulerInitiated => StopCode.ServiceSchedulerInitiated,
                _ => StopCode.Unspecified,
            },
            StoppedReason = r.StoppedReason ?? string.Empty,
            HealthStatus = r.Health switch
            {
                TaskHealth.Healthy => HealthStatus.Healthy,
                TaskHealth.Unhealthy => HealthStatus.Unhealthy,
                _ => HealthStatus.Unknown,
            },
            StartedAt = r.StartedAt is { } s ? Timestamp.FromDateTimeOffset(s) : null,
            StoppedAt = r.StoppedAt is { } t ? Timestamp.FromDateTimeOffset(t) : null,
            NetworkAttachment = r.Network is { } n
                ? new TaskNetworkAttachment
                {
                    Ipv4Address = n.Address.ToString(),
                    Subnet = n.Subnet.ToString(),
                    Gateway = n.Gateway.ToString(),
                    MacAddress = n.MacAddress,
                    Released = r.NetworkReleased,
                }
                : null,
        };
        foreach (var c in r.Containers)
        {
            var container = new ContainerReport
            {
                Name = c.Name,
                RuntimeId = c.RuntimeId ?? string.Empty,
                LastStatus = Status(c.Status),
                Reason = c.Reason ?? string.Empty,
                HealthStatus = c.Health switch
                {
                    ContainerHealth.Healthy => HealthStatus.Healthy,
                    ContainerHealth.Unhealthy => HealthStatus.Unhealthy,
                    ContainerHealth.Starting => HealthStatus.Unknown,
                    _ => HealthStatus.Unspecified,
                },
                ImageDigest = c.ImageDigest ?? string.Empty,
            };
            if (c.ExitCode is { } exit)
            {
                container.ExitCode = exit;
            }

            container.NetworkBindings.AddRange(c.Ports.Select(p => new NetworkBinding { ContainerPort = p.ContainerPort, HostPort = p.HostPort, Protocol = p.Protocol, BindIp = "0.0.0.0" }));
            report.Containers.Add(container);
        }

        return report;
    }

    private static LifecycleStatus Status(LocalStatus status) => status switch
    {
        LocalStatus.Pending => LifecycleStatus.Pending,
        LocalStatus.Running => LifecycleStatus.Running,
        LocalStatus.Stopping => LifecycleStatus.Stopping,
        LocalStatus.Stopped => LifecycleStatus.Stopped,
        _ => LifecycleStatus.Unspecified,
    };
}

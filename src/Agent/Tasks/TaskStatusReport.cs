using Berth.Agent.Networking;
using Berth.Agent.Runtime;

namespace Berth.Agent.Tasks;

/// <summary>The actual state of one container, as reported to the scheduler.</summary>
internal sealed record ContainerStatusReport(
    string Name,
    string? RuntimeId,
    LocalStatus Status,
    int? ExitCode,
    string? Reason,
    IReadOnlyList<HostPortBinding> Ports,
    ContainerHealth Health,
    string? Image,
    string? ImageDigest = null);

/// <summary>The actual state of one task, with the agent's sequence number for it.</summary>
internal sealed record TaskStatusReport(
    string TaskId,
    ulong Sequence,
    LocalStatus Status,
    IReadOnlyList<ContainerStatusReport> Containers,
    TaskStopCode StopCode,
    string? StoppedReason,
    TaskHealth Health,
    DateTimeOffset? StartedAt,
    DateTimeOffset? StoppedAt)
{
    /// <summary>awsvpc: the task's address (the last one, once released).</summary>
    public NetworkAttachment? Network { get; init; }

    /// <summary>awsvpc: the address went back to the host's pool.</summary>
    public bool NetworkReleased { get; init; }

    /// <summary>Everything but the sequence, to tell whether anything changed.</summary>
    public string Fingerprint() =>
        string.Join('|', Status, StopCode, StoppedReason, Health, StartedAt, StoppedAt, Network, NetworkReleased,
            string.Join(';', Containers.Select(c => $"{c.Name},{c.RuntimeId},{c.Status},{c.ExitCode},{c.Reason},{c.Health},{string.Join('+', c.Ports.Select(p => $"{p.ContainerPort}/{p.Protocol}:{p.HostPort}"))}")));

    public static TaskStatusReport From(TaskRecord task, ulong sequence)
    {
        // The sandbox is the agent's, not the task definition's: ECS does not show its pause container either.
        var names = task.Spec?.Containers.Where(c => !c.IsSandbox).Select(c => c.Name).ToList() ?? [];
        names.AddRange(task.Observed.Keys.Where(k => !names.Contains(k) && k != ContainerSpec.SandboxName).Order(StringComparer.Ordinal));
        var containers = names.Select(name =>
        {
            task.Observed.TryGetValue(name, out var o);
            var status = o?.State switch
            {
                ContainerRunState.Running => LocalStatus.Running,
                ContainerRunState.Exited => LocalStatus.Stopped,
                _ when task.Phase == LocalStatus.Stopped || task.Failures.ContainsKey(name) || (o is null && task.Launched.Contains(name)) => LocalStatus.Stopped,
                _ => LocalStatus.Pending,
            };
            var reason = task.Failures.GetValueOrDefault(name) ?? task.ContainerReasons.GetValueOrDefault(name)
                ?? (o is not null && TaskPlanner.KilledForMemory(o) ? TaskPlanner.OutOfMemoryReason : o?.Error);
            return new ContainerStatusReport(name, o?.Id, status, o?.ExitCode, reason, o?.Ports ?? [], o?.Health ?? ContainerHealth.None, o?.Image, o?.ImageDigest ?? o?.ImageId);
        }).ToList();

        var checkedEssentials = containers.Where(c => task.IsEssential(c.Name) && c.Health != ContainerHealth.None).ToList();
        var health = checkedEssentials.Count == 0 ? TaskHealth.Unknown
            : checkedEssentials.Any(c => c.Health == ContainerHealth.Unhealthy) ? TaskHealth.Unhealthy
            : checkedEssentials.All(c => c.Health == ContainerHealth.Healthy) ? TaskHealth.Healthy
            : TaskHealth.Unknown;
        return new TaskStatusReport(task.TaskId, sequence, task.Phase, containers, task.StopCode, task.StoppedReason, health, task.StartedAt, task.StoppedAt)
        {
            Network = task.Attachment ?? task.LastAttachment,
            NetworkReleased = task.Attachment is null && task.LastAttachment is not null,
        };
    }
}

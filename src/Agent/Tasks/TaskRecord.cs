using Berth.Agent.Networking;
using Berth.Agent.Runtime;

namespace Berth.Agent.Tasks;

/// <summary>
/// What the agent knows about one task on this host: the spec it was last given (null for a task adopted
/// after a restart, before the scheduler said anything), what it decided, and what the engine last showed.
/// Owned by <see cref="TaskEngine"/>; mutated only under its lock.
/// </summary>
internal sealed class TaskRecord(string taskId)
{
    public string TaskId { get; } = taskId;

    public TaskSpec? Spec { get; set; }

    /// <summary>False once a desired set no longer lists the task (or lists it STOPPED and it is stopped).</summary>
    public bool Wanted { get; set; } = true;

    /// <summary>Pending/Running mean "converge towards running"; Stopping and Stopped are final intents.</summary>
    public LocalStatus Phase { get; set; } = LocalStatus.Pending;

    public TaskStopCode StopCode { get; set; }
    public string? StoppedReason { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? StoppedAt { get; set; }

    /// <summary>The engine's view, by container name (as of the last reconcile or action).</summary>
    public Dictionary<string, ContainerDetails> Observed { get; } = new(StringComparer.Ordinal);

    /// <summary>Containers that could not be launched, with the reason (<c>CannotPullContainerError: ...</c>).</summary>
    public Dictionary<string, string> Failures { get; } = new(StringComparer.Ordinal);

    /// <summary>Containers whose container vanished or died in an engine restart, with why.</summary>
    public Dictionary<string, string> ContainerReasons { get; } = new(StringComparer.Ordinal);

    /// <summary>Containers the agent has created in this or an earlier life (so a missing one is noticed).</summary>
    public HashSet<string> Launched { get; } = new(StringComparer.Ordinal);

    /// <summary>A launch or stop is running in the background; the planner leaves the task alone until it ends.</summary>
    public bool Busy { get; set; }

    /// <summary>Grows when an action ends: a reconcile pass whose engine listing began before that leaves the record alone.</summary>
    public long Generation { get; set; }

    /// <summary>awsvpc: the address the sandbox holds now (set by the attach, or read back from CNI's store after a restart); null once released.</summary>
    public NetworkAttachment? Attachment { get; set; }

    /// <summary>awsvpc: the last address the task had, kept for its reports after it was released.</summary>
    public NetworkAttachment? LastAttachment { get; set; }

    /// <summary>The sandbox container that holds <see cref="Attachment"/> (CNI's container id).</summary>
    public string? AttachedSandboxId { get; set; }

    /// <summary>The sandbox's container, when the task has one.</summary>
    public ContainerDetails? Sandbox => Observed.GetValueOrDefault(ContainerSpec.SandboxName);

    /// <summary>The essential flag of a container: from the spec, else from its label (adopted tasks).</summary>
    public bool IsEssential(string containerName)
    {
        if (Spec?.Containers.FirstOrDefault(c => c.Name == containerName) is { } spec)
        {
            return spec.Essential;
        }

        return !Observed.TryGetValue(containerName, out var c) || !c.Labels.TryGetValue(ContainerLabels.Essential, out var e) || e != "false";
    }
}

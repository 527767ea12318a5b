using Berth.Agent.Runtime;

namespace Berth.Agent.Tasks;

/// <summary>What to do next for one task.</summary>
internal sealed record TaskDecision
{
    /// <summary>The phase the task is in after this decision.</summary>
    public required LocalStatus Phase { get; init; }

    public TaskStopCode StopCode { get; init; }
    public string? StoppedReason { get; init; }

    /// <summary>Containers to pull, create and start, in this order.</summary>
    public IReadOnlyList<string> Launch { get; init; } = [];

    /// <summary>Containers to stop.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>The task is stopped and no longer wanted: remove its containers and forget it.</summary>
    public bool Remove { get; init; }

    /// <summary>The task is stopped and its sandbox still holds an address: give it back (CNI DEL).</summary>
    public bool ReleaseNetwork { get; init; }
}

/// <summary>
/// The agent's decisions as a pure function of one task's record: no engine, no clock, so every rule
/// (dependsOn, essential containers, stop requests, failures) is a unit test.
/// </summary>
internal static class TaskPlanner
{
    public const string EssentialExitedReason = "Essential container in task exited";
    public const string NotDesiredReason = "Task is no longer in the scheduler's desired set";

    /// <summary>ECS's words for a task whose essential container the kernel killed at the memory limit.</summary>
    public const string OutOfMemoryReason = "OutOfMemoryError: Container killed due to memory usage";

    public static TaskDecision Decide(TaskRecord task)
    {
        if (task.Phase == LocalStatus.Stopped)
        {
            return Stopped(task, task.StopCode, task.StoppedReason);
        }

        var phase = task.Phase;
        var code = task.StopCode;
        var reason = task.StoppedReason;
        if (phase is LocalStatus.Pending or LocalStatus.Running && StopCause(task) is { } cause)
        {
            (phase, code, reason) = (LocalStatus.Stopping, cause.Code, cause.Reason);
        }

        if (phase == LocalStatus.Stopping)
        {
            var running = task.Observed.Where(o => o.Value.State == ContainerRunState.Running).Select(o => o.Key).ToList();

            // The sandbox goes last: the containers keep their network while they shut down.
            if (running.Count > 1)
            {
                running.Remove(ContainerSpec.SandboxName);
            }

            return running.Count == 0
                ? Stopped(task, code, reason)
                : new TaskDecision { Phase = LocalStatus.Stopping, StopCode = code, StoppedReason = reason, Stop = running };
        }

        var spec = task.Spec;
        if (spec is null)
        {
            // Adopted after a restart and the scheduler has not spoken yet: watch, never create or stop.
            return new TaskDecision { Phase = Observe(task) };
        }

        var launch = new List<string>();
        foreach (var container in spec.Containers)
        {
            var observed = task.Observed.GetValueOrDefault(container.Name);
            var needsLaunch = observed is null ? !task.Launched.Contains(container.Name) : observed.State == ContainerRunState.Created;

            // A running sandbox without an address (the agent died between its start and the CNI ADD) is attached again.
            needsLaunch |= container.IsSandbox && observed?.State == ContainerRunState.Running && task.Attachment is null;
            if (needsLaunch && container.DependsOn.All(d => Satisfied(task, d.Container, d.Condition)))
            {
                launch.Add(container.Name);
            }
        }

        if (launch.Count == 0 && task.Observed.Count == spec.Containers.Count && task.Observed.Values.All(o => o.State == ContainerRunState.Exited))
        {
            // Only non-essential containers can have exited here; with nothing left to run the task is done.
            return Stopped(task, TaskStopCode.EssentialContainerExited, "All containers in task exited");
        }

        return new TaskDecision { Phase = Observe(task), Launch = launch };
    }

    private static TaskDecision Stopped(TaskRecord task, TaskStopCode code, string? reason) => new()
    {
        Phase = LocalStatus.Stopped,
        StopCode = code,
        StoppedReason = reason,
        Remove = !task.Wanted,
        ReleaseNetwork = task.Attachment is not null,
    };

    /// <summary>
    /// The kernel killed the container at a memory limit (its own or the task's). Docker flags every container of a
    /// cgroup whose parent hit its limit, the survivors too, so the flag counts only with the SIGKILL exit code.
    /// </summary>
    public static bool KilledForMemory(ContainerDetails container) =>
        container.OomKilled && container.State == ContainerRunState.Exited && container.ExitCode == 137;

    /// <summary>RUNNING once every essential container runs; PENDING before.</summary>
    private static LocalStatus Observe(TaskRecord task)
    {
        var essentials = task.Spec?.Containers.Where(c => c.Essential).Select(c => c.Name).ToList()
            ?? task.Observed.Keys.Where(task.IsEssential).ToList();
        return essentials.Count > 0 && essentials.All(n => task.Observed.TryGetValue(n, out var o) && o.State == ContainerRunState.Running)
            ? LocalStatus.Running
            : LocalStatus.Pending;
    }

    private static (TaskStopCode Code, string Reason)? StopCause(TaskRecord task)
    {
        if (!task.Wanted)
        {
            return (TaskStopCode.ServiceSchedulerInitiated, NotDesiredReason);
        }

        if (task.Spec is { DesiredRunning: false } stopped)
        {
            return (stopped.StopCode == TaskStopCode.None ? TaskStopCode.UserInitiated : stopped.StopCode, stopped.StoppedReason ?? "Task stopped by the scheduler");
        }

        if (task.Spec?.InvalidReason is { } invalid)
        {
            return (TaskStopCode.TaskFailedToStart, invalid);
        }

        if (task.Failures.Count > 0)
        {
            return (TaskStopCode.TaskFailedToStart, task.Failures.First().Value);
        }

        var exited = task.Observed.Where(o => o.Value.State == ContainerRunState.Exited && task.IsEssential(o.Key)).ToList();
        if (exited.Count > 0)
        {
            return (TaskStopCode.EssentialContainerExited, exited.Any(o => KilledForMemory(o.Value)) ? OutOfMemoryReason : EssentialExitedReason);
        }

        // A container the agent launched that is gone altogether (removed behind its back) counts as exited.
        foreach (var name in task.Launched)
        {
            if (!task.Observed.ContainsKey(name) && task.IsEssential(name))
            {
                return (TaskStopCode.EssentialContainerExited, EssentialExitedReason);
            }
        }

        if (task.Spec is { } spec)
        {
            foreach (var container in spec.Containers)
            {
                foreach (var (dependency, condition) in container.DependsOn)
                {
                    if (Unsatisfiable(task, dependency, condition) && !task.Observed.ContainsKey(container.Name))
                    {
                        return (TaskStopCode.TaskFailedToStart, $"DependencyConditionNotMet: container {container.Name} needs {dependency} to reach {condition.ToString().ToUpperInvariant()}");
                    }
                }
            }
        }

        return null;
    }

    private static bool Satisfied(TaskRecord task, string dependency, DependencyCondition condition)
    {
        if (!task.Observed.TryGetValue(dependency, out var d))
        {
            return false;
        }

        return condition switch
        {
            DependencyCondition.Start => d.State is ContainerRunState.Running or ContainerRunState.Exited,
            DependencyCondition.Complete => d.State == ContainerRunState.Exited,
            DependencyCondition.Success => d.State == ContainerRunState.Exited && d.ExitCode == 0,
            DependencyCondition.Healthy => d.State == ContainerRunState.Running && d.Health == ContainerHealth.Healthy,
            DependencyCondition.NetworkReady => d.State == ContainerRunState.Running && task.Attachment is not null,
            _ => false,
        };
    }

    private static bool Unsatisfiable(TaskRecord task, string dependency, DependencyCondition condition)
    {
        if (!task.Observed.TryGetValue(dependency, out var d) || d.State != ContainerRunState.Exited)
        {
            return task.Failures.ContainsKey(dependency);
        }

        return condition switch
        {
            DependencyCondition.Success => d.ExitCode != 0,
            DependencyCondition.Healthy or DependencyCondition.NetworkReady => true,
            _ => false,
        };
    }
}

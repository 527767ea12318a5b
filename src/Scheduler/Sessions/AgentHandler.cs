using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Tasks;

namespace Berth.Scheduler.Sessions;

/// <summary>The agents' side of the state: sessions connecting and leaving, heartbeats, and state reports.</summary>
internal sealed class AgentHandler(StateKernel kernel)
{
    /// <summary>Marks an instance's agent connected with a new session and takes its current facts (validated).</summary>
    /// <returns>The session generation, to pass to <see cref="DisconnectAsync"/>, and the applied report sequence.</returns>
    public Task<(long Generation, ulong AppliedSequence)> ConnectAsync(string instanceId, HostFacts? facts, string? peerAddress = null)
    {
        // Hello's facts come from the agent like Register's and are held to the same rules; none (or no resources) keeps the stored ones.
        var custom = facts is { Cpu: > 0, Memory: > 0 } ? HostFactsValidator.Validate(facts, "hello.facts") : null;
        return kernel.CommitInstanceAsync(instanceId, (tx, instance) =>
        {
            if (instance.Status == InstanceStatus.Inactive)
            {
                throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.");
            }

            var changed = false;
            if (custom is not null && !facts!.Equals(instance.Facts))
            {
                instance.Facts = facts;
                foreach (var (name, value) in custom)
                {
                    instance.CustomAttributes[name] = value;
                }

                changed = true;
            }

            instance.AgentConnected = true;
            // The host's own word on where balancers reach it wins over where its session happens to come from.
            instance.Address = instance.Facts.AdvertiseAddress is { Length: > 0 } advertised ? advertised : peerAddress ?? instance.Address;
            instance.LastSeenAt = tx.Now;
            instance.LastHeard = kernel.Time.GetTimestamp();
            var generation = ++instance.SessionGeneration;
            tx.InstanceChanged(instance, save: changed);
            return (generation, instance.AppliedSequence);
        });
    }

    /// <summary>Marks the agent disconnected, unless a newer session of the same instance took over.</summary>
    public async Task DisconnectAsync(string instanceId, long generation)
    {
        if (kernel.ClusterOfInstance(instanceId) is null)
        {
            return;
        }

        await kernel.CommitInstanceAsync(instanceId, (tx, instance) =>
        {
            if (instance.SessionGeneration == generation && instance.AgentConnected)
            {
                instance.AgentConnected = false;
                tx.InstanceChanged(instance, save: false);
            }

            return true;
        });
    }

    /// <summary>Records that the agent was heard from, and which desired version it has (runtime fields only).</summary>
    public void Touch(string instanceId, long acknowledgedVersion)
    {
        var now = kernel.Now;
        var heard = kernel.Time.GetTimestamp();
        kernel.UpdateRuntime(instanceId, instance =>
        {
            instance.LastSeenAt = now;
            instance.LastHeard = heard;
            if (acknowledgedVersion > instance.AcknowledgedVersion && acknowledgedVersion <= instance.DesiredVersion)
            {
                instance.AcknowledgedVersion = acknowledgedVersion;
            }
        });
    }

    public long DesiredVersionOf(string instanceId) => kernel.ReadInstance(instanceId, (_, instance) => instance?.DesiredVersion ?? 0);

    /// <summary>
    /// Applies an agent's report. Reports older than (or as old as) the last applied one of a task are skipped, so a
    /// resend changes nothing. A report about another instance's task is refused with PermissionDenied (and changes nothing).
    /// </summary>
    /// <returns>The highest sequence in the report (durable once this completes) and the task ids the scheduler does not know.</returns>
    public Task<(ulong Sequence, List<string> Unknown)> ApplyReportAsync(string instanceId, AgentReport report) =>
        kernel.CommitInstanceAsync(instanceId, (tx, instance) =>
        {
            if (instance.Status == InstanceStatus.Inactive)
            {
                throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.");
            }

            var tasks = tx.Cluster.Tasks;
            // Check every task before changing any, so a refused report changes nothing.
            foreach (var r in report.Tasks)
            {
                if (tasks.TryGetValue(r.TaskId, out var t) && t.InstanceId != instanceId)
                {
                    throw new StateException(StateError.PermissionDenied, $"Task '{r.TaskId}' does not belong to container instance '{instanceId}'.");
                }
            }

            var now = tx.Now;
            instance.LastSeenAt = now;
            instance.LastHeard = kernel.Time.GetTimestamp();
            var unknown = new List<string>();
            ulong highest = 0;
            var reported = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in report.Tasks)
            {
                highest = Math.Max(highest, r.Sequence);
                reported.Add(r.TaskId);
                if (!tasks.TryGetValue(r.TaskId, out var task))
                {
                    unknown.Add(r.TaskId);
                    continue;
                }

                Apply(tx, task, r, now);
            }

            if (report.FullSnapshot)
            {
                // The agent has nothing of these: what we wanted stopped is stopped; what we want running it will start.
                foreach (var task in instance.Tasks.Where(t => t.Durable && !reported.Contains(t.Id) && t.DesiredStatus == LifecycleStatus.Stopped).ToList())
                {
                    TaskLifecycle.MarkStopped(tx, task);
                }

                // Tasks declared UNKNOWN that the returning host no longer has are gone (its engine lost them, or never
                // got them): they are STOPPED, and their services have replaced them already.
                foreach (var task in instance.Tasks.Where(t => t.Durable && !reported.Contains(t.Id) && t.LastStatus == LifecycleStatus.Unknown).ToList())
                {
                    TaskLifecycle.StopLost(tx, task);
                    tx.LostHostChanged(instanceId);
                }
            }

            instance.AppliedSequence = Math.Max(instance.AppliedSequence, highest);
            return (highest, unknown);
        });

    private static void Apply(ClusterTransaction tx, TaskRecord task, TaskStatusReport r, DateTimeOffset now)
    {
        // A task declared UNKNOWN takes the agent's word again even from its last applied report (an agent's snapshot
        // after reconnecting resends that report as it was): that report is still the newest truth.
        if (r.Sequence < task.AgentSequence || (r.Sequence == task.AgentSequence && task.LastStatus != LifecycleStatus.Unknown))
        {
            return;
        }

        if (task.LastStatus == LifecycleStatus.Unknown)
        {
            tx.LostHostChanged(task.InstanceId);
        }

        task.AgentSequence = r.Sequence;
        task.LastReportedAt = now;
        ApplyContainers(task, r);
        if (r.Attachment is { } attachment)
        {
            task.Attachment = attachment;
        }
        if (r.HealthStatus != HealthStatus.Unspecified)
        {
            task.HealthStatus = r.HealthStatus;
        }

        if (task.LastStatus == LifecycleStatus.Stopped)
        {
            // Terminal: a late report cannot revive a stopped task.
            task.Version++;
            tx.Save(task);
            return;
        }

        if (r.LastStatus == LifecycleStatus.Stopped)
        {
            if (task.StopCode == StopCode.Unspecified)
            {
                task.StopCode = r.StopCode == StopCode.Unspecified ? StopCode.EssentialContainerExited : r.StopCode;
            }

            if (string.IsNullOrEmpty(task.StoppedReason))
            {
                task.StoppedReason = r.StoppedReason;
            }

            task.StartedAt ??= r.StartedAt;
            task.StoppedAt = r.StoppedAt ?? now;
            TaskLifecycle.MarkStopped(tx, task);
            return;
        }

        // UNKNOWN is the scheduler's own verdict about a lost host, never an agent's report.
        if (r.LastStatus is not (LifecycleStatus.Unspecified or LifecycleStatus.Unknown))
        {
            task.LastStatus = r.LastStatus;
        }

        if (task.LastStatus == LifecycleStatus.Running)
        {
            task.StartedAt ??= r.StartedAt ?? now;
        }

        task.Version++;
        tx.Save(task);
    }

    private static void ApplyContainers(TaskRecord task, TaskStatusReport report)
    {
        foreach (var reported in report.Containers)
        {
            var container = task.Containers.Find(c => c.Name == reported.Name);
            if (container is null)
            {
                continue;
            }

            if (reported.LastStatus != LifecycleStatus.Unspecified)
            {
                container.LastStatus = reported.LastStatus;
            }

            if (reported.ExitCode is { } exitCode)
            {
                container.ExitCode = exitCode;
            }

            if (!string.IsNullOrEmpty(reported.RuntimeId))
            {
                container.RuntimeId = reported.RuntimeId;
            }

            if (!string.IsNullOrEmpty(reported.Reason))
            {
                container.Reason = reported.Reason;
            }

            if (!string.IsNullOrEmpty(reported.ImageDigest))
            {
                container.ImageDigest = reported.ImageDigest;
            }

            container.HealthStatus = reported.HealthStatus;
            if (reported.NetworkBindings.Count > 0)
            {
                container.NetworkBindings = [.. reported.NetworkBindings];
            }
        }
    }
}

/// <summary>An agent's state report, as the scheduler takes it.</summary>
internal sealed record AgentReport(IReadOnlyList<TaskStatusReport> Tasks, bool FullSnapshot);

/// <summary>One task's state as its agent reports it, with the agent's sequence number.</summary>
internal sealed record TaskStatusReport
{
    public required string TaskId { get; init; }

    public ulong Sequence { get; init; }

    public LifecycleStatus LastStatus { get; init; }

    public IReadOnlyList<ContainerStatusReport> Containers { get; init; } = [];

    public StopCode StopCode { get; init; }

    public string StoppedReason { get; init; } = "";

    public HealthStatus HealthStatus { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>An awsvpc task's network interface, once it has one.</summary>
    public TaskAttachment? Attachment { get; init; }
}

/// <summary>One container's state as its agent reports it.</summary>
internal sealed record ContainerStatusReport
{
    public required string Name { get; init; }

    public string RuntimeId { get; init; } = "";

    public LifecycleStatus LastStatus { get; init; }

    public int? ExitCode { get; init; }

    public string Reason { get; init; } = "";

    public IReadOnlyList<NetworkBinding> NetworkBindings { get; init; } = [];

    public HealthStatus HealthStatus { get; init; }

    public string ImageDigest { get; init; } = "";
}

using Berth.Core.ClusterQuery;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.State;

// The agent side: sessions connecting, desired states, state reports.
internal sealed partial class SchedulerState
{
    /// <summary>Marks an instance's agent connected with a new session and takes its current facts.</summary>
    /// <returns>The session generation, to pass to <see cref="DisconnectAgent"/>, and the applied report sequence.</returns>
    public async Task<(long Generation, ulong AppliedSequence)> ConnectAgentAsync(string instanceId, HostFacts? facts)
    {
        Task commit = Task.CompletedTask;
        long generation;
        ulong applied;
        lock (_gate)
        {
            if (!_instances.TryGetValue(instanceId, out var instance) || instance.Status == ContainerInstanceStatus.Inactive)
            {
                throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.");
            }

            var changes = new ChangeSet();
            if (facts is not null && facts.Cpu > 0 && facts.Memory > 0 && !facts.Equals(instance.Facts))
            {
                instance.Facts = facts.Clone();
                foreach (var attribute in facts.Attributes)
                {
                    if (!string.IsNullOrEmpty(attribute.Name))
                    {
                        instance.CustomAttributes[AttributeNames.Normalize(attribute.Name)] = attribute.Value;
                    }
                }

                changes.Instances.Add(ToRow(instance));
            }

            instance.AgentConnected = true;
            instance.LastSeenAt = Now;
            instance.LastHeard = time.GetTimestamp();
            generation = ++instance.SessionGeneration;
            applied = instance.AppliedSequence;
            RefreshView(instance);
            if (!changes.IsEmpty)
            {
                commit = Queue(changes);
            }
        }

        await DurableAsync(commit);
        return (generation, applied);
    }

    /// <summary>Marks the agent disconnected, unless a newer session of the same instance took over.</summary>
    public void DisconnectAgent(string instanceId, long generation)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var instance) && instance.SessionGeneration == generation && instance.AgentConnected)
            {
                instance.AgentConnected = false;
                RefreshView(instance);
            }
        }
    }

    /// <summary>Records that the agent was heard from, and which desired version it has.</summary>
    public void Touch(string instanceId, long acknowledgedVersion)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var instance))
            {
                instance.LastSeenAt = Now;
                instance.LastHeard = time.GetTimestamp();
                if (acknowledgedVersion > instance.AcknowledgedVersion && acknowledgedVersion <= instance.DesiredVersion)
                {
                    instance.AcknowledgedVersion = acknowledgedVersion;
                }
            }
        }
    }

    public long DesiredVersionOf(string instanceId)
    {
        lock (_gate)
        {
            return _instances.TryGetValue(instanceId, out var instance) ? instance.DesiredVersion : 0;
        }
    }

    /// <summary>
    /// The instance's complete desired task set, or null when its version is not newer than <paramref name="sentVersion"/>.
    /// </summary>
    public DesiredState? BuildDesiredState(string instanceId, long sentVersion) =>
        BuildDesiredStateFrame(instanceId, sentVersion)?.ToMessage();

    /// <summary>
    /// Applies an agent's report. Reports older than (or as old as) the last applied one of a task are skipped, so a
    /// resend changes nothing. A report about another instance's task is refused with PermissionDenied.
    /// </summary>
    /// <returns>The highest sequence in the report (now durable) and the task ids the scheduler does not know.</returns>
    public async Task<(ulong Sequence, List<string> Unknown)> ApplyReportAsync(string instanceId, StateReport report)
    {
        var unknown = new List<string>();
        ulong highest = 0;
        var desiredChanged = false;
        var unknownResolved = false;
        Task commit;
        lock (_gate)
        {
            if (!_instances.TryGetValue(instanceId, out var instance) || instance.Status == ContainerInstanceStatus.Inactive)
            {
                throw new StateException(StateError.PermissionDenied, $"Container instance '{instanceId}' is not registered.");
            }

            // Check every task before changing any, so a refused report changes nothing.
            foreach (var r in report.Tasks)
            {
                if (TryGetTaskLocked(r.TaskId, out var t) && t.InstanceId != instanceId)
                {
                    throw new StateException(StateError.PermissionDenied, $"Task '{r.TaskId}' does not belong to container instance '{instanceId}'.");
                }
            }

            var now = Now;
            instance.LastSeenAt = now;
            instance.LastHeard = time.GetTimestamp();
            var changes = new ChangeSet();
            var reported = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in report.Tasks)
            {
                highest = Math.Max(highest, r.Sequence);
                reported.Add(r.TaskId);
                if (!TryGetTaskLocked(r.TaskId, out var task))
                {
                    unknown.Add(r.TaskId);
                    continue;
                }

                // A task declared UNKNOWN takes the agent's word again even from its last applied report (an agent's
                // snapshot after reconnecting resends that report as it was): that report is still the newest truth.
                if (r.Sequence < task.AgentSequence || (r.Sequence == task.AgentSequence && task.LastStatus != LifecycleStatus.Unknown))
                {
                    continue;
                }

                if (task.LastStatus == LifecycleStatus.Unknown)
                {
                    unknownResolved = true;
                }

                task.AgentSequence = r.Sequence;
                task.LastReportedAt = now;
                ApplyContainers(task, r);
                if (r.HealthStatus != HealthStatus.Unspecified)
                {
                    task.HealthStatus = r.HealthStatus;
                }

                if (task.LastStatus == LifecycleStatus.Stopped)
                {
                    // Terminal: a late report cannot revive a stopped task.
                    task.Version++;
                    changes.Tasks.Add(ToRow(task));
                    continue;
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

                    task.StartedAt ??= At(r.StartedAt);
                    task.StoppedAt = At(r.StoppedAt) ?? now;
                    MarkStoppedLocked(task, instance, changes);
                    desiredChanged = true;
                    continue;
                }

                // UNKNOWN is the scheduler's own verdict about a lost host, never an agent's report.
                if (r.LastStatus is not (LifecycleStatus.Unspecified or LifecycleStatus.Unknown))
                {
                    task.LastStatus = r.LastStatus;
                }

                if (task.LastStatus == LifecycleStatus.Running)
                {
                    task.StartedAt ??= At(r.StartedAt) ?? now;
                }

                task.Version++;
                changes.Tasks.Add(ToRow(task));
            }

            if (report.FullSnapshot)
            {
                // The agent has nothing of these: what we wanted stopped is stopped; what we want running it will start.
                foreach (var task in instance.Tasks.Where(t => t.Durable && !reported.Contains(t.Id) && t.DesiredStatus == LifecycleStatus.Stopped).ToList())
                {
                    MarkStoppedLocked(task, instance, changes);
                    desiredChanged = true;
                }

                // Tasks declared UNKNOWN that the returning host no longer has are gone (its engine lost them, or
                // never got them): they are STOPPED, and their services have replaced them already.
                foreach (var task in instance.Tasks.Where(t => t.Durable && !reported.Contains(t.Id) && t.LastStatus == LifecycleStatus.Unknown).ToList())
                {
                    StopLostTaskLocked(task, instance, changes);
                    desiredChanged = true;
                    unknownResolved = true;
                }
            }

            instance.AppliedSequence = Math.Max(instance.AppliedSequence, highest);
            commit = changes.IsEmpty ? Task.CompletedTask : Queue(changes);
        }

        await DurableAsync(commit);
        if (desiredChanged)
        {
            Notify([instanceId]);
        }

        if (unknownResolved)
        {
            LostHostsChanged?.Invoke([instanceId]);
        }

        return (highest, unknown);
    }

    private static void ApplyContainers(TaskRecord task, TaskReport report)
    {
        foreach (var reported in report.Containers)
        {
            var container = task.Containers.FirstOrDefault(c => c.Name == reported.Name);
            if (container is null)
            {
                continue;
            }

            if (reported.LastStatus != LifecycleStatus.Unspecified)
            {
                container.LastStatus = reported.LastStatus;
            }

            if (reported.HasExitCode)
            {
                container.ExitCode = reported.ExitCode;
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
                container.NetworkBindings.Clear();
                container.NetworkBindings.AddRange(reported.NetworkBindings);
            }
        }
    }
}

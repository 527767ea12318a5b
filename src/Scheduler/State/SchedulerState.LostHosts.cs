using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;

namespace Berth.Scheduler.State;

// Lost hosts: instances whose agents have been silent for longer than the grace period. Their tasks' last status
// becomes UNKNOWN; the tasks keep their reservations (the host may still run them) until the agent says otherwise.
internal sealed partial class SchedulerState
{
    /// <summary>
    /// Raised (outside the lock, once the change is durable) with the ids of instances whose tasks became UNKNOWN
    /// (the instance was declared lost) or stopped being UNKNOWN (its agent reported them again, or its snapshot after
    /// reconnecting showed them gone, which stops them). The services reconciler wakes on it: UNKNOWN service tasks
    /// are replaced elsewhere, and tasks that come back may be surplus. <see cref="ListUnknownTasks"/> is the level.
    /// </summary>
    public event Action<IReadOnlyCollection<string>>? LostHostsChanged;

    /// <summary>
    /// Declares lost every ACTIVE or DRAINING instance whose agent has been silent for longer than
    /// <paramref name="grace"/> and marks its tasks that are not STOPPED UNKNOWN. While a session is still open the
    /// silence must also exceed <paramref name="sessionTimeout"/>: a connected agent only speaks once per heartbeat
    /// interval, and a session that stays quiet that long is closed anyway. Silence counts from the last message, the
    /// session's start, the registration or the scheduler's start, whichever is latest. Idempotent.
    /// </summary>
    /// <returns>The instances that had tasks marked UNKNOWN by this call.</returns>
    public async Task<IReadOnlyList<string>> DeclareLostInstancesAsync(TimeSpan grace, TimeSpan sessionTimeout)
    {
        var lost = new List<string>();
        var marked = 0;
        Task commit = Task.CompletedTask;
        lock (_gate)
        {
            var changes = new ChangeSet();
            foreach (var instance in _instances.Values)
            {
                if (instance.Status == ContainerInstanceStatus.Inactive || instance.Tasks.Count == 0)
                {
                    continue;
                }

                var silence = time.GetElapsedTime(instance.LastHeard);
                if (silence <= grace || (instance.AgentConnected && silence <= sessionTimeout))
                {
                    continue;
                }

                var before = marked;
                foreach (var task in instance.Tasks)
                {
                    // Not yet durable: not sent to the agent yet either; the next pass sees it.
                    if (!task.Durable || task.LastStatus == LifecycleStatus.Unknown)
                    {
                        continue;
                    }

                    task.LastStatus = LifecycleStatus.Unknown;
                    task.Version++;
                    changes.Tasks.Add(ToRow(task));
                    marked++;
                }

                if (marked > before)
                {
                    lost.Add(instance.Id);
                    Log.InstanceLost(logger, instance.Id, silence.TotalSeconds, marked - before);
                }
            }

            if (!changes.IsEmpty)
            {
                commit = Queue(changes);
            }
        }

        await DurableAsync(commit);
        if (lost.Count > 0)
        {
            LostHostsChanged?.Invoke(lost);
        }

        return lost;
    }

    /// <summary>The cluster's tasks whose last status is UNKNOWN (their instance was declared lost), by task id.</summary>
    public List<TaskInfo> ListUnknownTasks(string clusterReference)
    {
        var cluster = Arns.ClusterName(clusterReference);
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            return _instances.Values
                .Where(i => i.Cluster == cluster)
                .SelectMany(i => i.Tasks)
                .Where(t => t.LastStatus == LifecycleStatus.Unknown)
                .OrderBy(t => t.Id, StringComparer.Ordinal)
                .Select(t => ToInfo(t))
                .ToList();
        }
    }

    /// <summary>Stops a task declared UNKNOWN that its returning host no longer has. Under the lock.</summary>
    private void StopLostTaskLocked(TaskRecord task, InstanceRecord instance, ChangeSet changes)
    {
        if (task.StopCode == StopCode.Unspecified)
        {
            task.StopCode = StopCode.TerminationNotice;
        }

        if (string.IsNullOrEmpty(task.StoppedReason))
        {
            task.StoppedReason = "Task was not found on its container instance when the instance's agent reconnected";
        }

        MarkStoppedLocked(task, instance, changes);
    }
}

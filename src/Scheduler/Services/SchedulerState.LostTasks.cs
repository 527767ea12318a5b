using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;

namespace Berth.Scheduler.State;

internal sealed partial class SchedulerState
{
    /// <summary>
    /// Marks every task of an instance that is not STOPPED as UNKNOWN, as lost-host detection does once an instance
    /// has been silent for the grace period; the reconciler then replaces the service tasks among them. A later report
    /// from the agent sets each task's status again (see <see cref="ApplyReportAsync"/>).
    /// </summary>
    /// <remarks>
    /// Stand-in until the heartbeat-based detection lands (branch lost-hosts), which owns when this happens; the
    /// services' tests drive it through this method.
    /// </remarks>
    internal async Task MarkInstanceTasksUnknownAsync(string instanceId)
    {
        Task commit;
        lock (_gate)
        {
            var instance = _instances[instanceId];
            var changes = new ChangeSet();
            foreach (var task in instance.Tasks)
            {
                if (task.LastStatus != LifecycleStatus.Stopped)
                {
                    task.LastStatus = LifecycleStatus.Unknown;
                    task.Version++;
                    changes.Tasks.Add(ToRow(task));
                }
            }

            commit = Queue(changes);
        }

        await DurableAsync(commit);
    }
}

using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.LostHosts;

/// <summary>
/// Lost hosts: instances whose agents have been silent for longer than the grace period. Their tasks' last status
/// becomes UNKNOWN; the tasks keep their reservations (the host may still run them) until the agent says otherwise
/// (see <c>AgentHandler</c>: a returning agent's snapshot decides again). The change feed carries the instances whose
/// tasks became or stopped being UNKNOWN (<see cref="CommittedChange.LostHostsChanged"/>); the service reconciler
/// replaces UNKNOWN service tasks elsewhere.
/// </summary>
internal sealed partial class LostHostHandler(StateKernel kernel, ILogger<LostHostHandler> logger)
{
    /// <summary>
    /// Declares lost every ACTIVE or DRAINING instance whose agent has been silent for longer than
    /// <paramref name="grace"/> and marks its tasks that are not STOPPED UNKNOWN. While a session is still open the
    /// silence must also exceed <paramref name="sessionTimeout"/>: a connected agent only speaks once per heartbeat
    /// interval, and a session that stays quiet that long is closed anyway. Silence counts from the last message, the
    /// session's start, the registration or the scheduler's start, whichever is latest. Idempotent.
    /// </summary>
    /// <returns>The instances that had tasks marked UNKNOWN by this call.</returns>
    public async Task<IReadOnlyList<string>> DeclareLostAsync(TimeSpan grace, TimeSpan sessionTimeout)
    {
        var commits = new List<Task<List<string>>>();
        foreach (var cluster in kernel.ClusterNames)
        {
            commits.Add(kernel.CommitAsync(cluster, tx =>
            {
                var lost = new List<string>();
                foreach (var instance in tx.Cluster.Instances.Values)
                {
                    if (instance.Status == InstanceStatus.Inactive || instance.Tasks.Count == 0)
                    {
                        continue;
                    }

                    var silence = kernel.Time.GetElapsedTime(instance.LastHeard);
                    if (silence <= grace || (instance.AgentConnected && silence <= sessionTimeout))
                    {
                        continue;
                    }

                    var marked = new List<TaskRecord>();
                    foreach (var task in instance.Tasks)
                    {
                        // Not yet durable: not sent to the agent yet either; the next pass sees it.
                        if (!task.Durable || task.LastStatus == LifecycleStatus.Unknown)
                        {
                            continue;
                        }

                        task.LastStatus = LifecycleStatus.Unknown;
                        task.Version++;
                        tx.Save(task);
                        marked.Add(task);
                    }

                    if (marked.Count > 0)
                    {
                        lost.Add(instance.Id);
                        tx.LostHostChanged(instance.Id);
                        ServiceTargets.RemoveLostTasks(tx, marked, logger);
                        Log.InstanceLost(logger, instance.Id, silence.TotalSeconds, marked.Count);
                    }
                }

                return lost;
            }));
        }

        var all = new List<string>();
        foreach (var commit in commits)
        {
            all.AddRange(await commit);
        }

        return all;
    }

    /// <summary>The cluster's tasks whose last status is UNKNOWN (their instance was declared lost), by task id.</summary>
    public List<T> ListUnknownTasks<T>(string clusterReference, Func<TaskRecord, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        return kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{cluster}' not found.");
            }

            return state.Instances.Values
                .SelectMany(i => i.Tasks)
                .Where(t => t.LastStatus == LifecycleStatus.Unknown)
                .OrderBy(t => t.Id, StringComparer.Ordinal)
                .Select(view)
                .ToList();
        });
    }

    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Warning, "Container instance {InstanceId} declared lost after {Seconds:F1} s of silence; {Count} of its tasks are now UNKNOWN")]
        public static partial void InstanceLost(ILogger logger, string instanceId, double seconds, int count);
    }
}

using System.Collections.Concurrent;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// Where the agents' task stats land: each task's newest sample (for <c>berth task stats</c>) and, for tasks of a
/// service, the per-service sums the scaling pass reads (<see cref="ServiceMetrics"/>). Runtime only: samples come
/// again within a stats interval of a restart. An agent's sample counts only for a live task placed on its own
/// instance, so a host cannot move another host's numbers. Stopped tasks' samples are dropped as the change feed
/// reports them stopped.
/// </summary>
internal sealed class TaskStatsStore(StateKernel kernel, ServiceMetrics metrics, TimeProvider time) : IChangeObserver
{
    private readonly ConcurrentDictionary<string, TaskUsage> _latest = new(StringComparer.Ordinal);

    /// <summary>The service sums the scaling pass reads.</summary>
    public ServiceMetrics Metrics => metrics;

    /// <summary>Takes an agent's report; returns how many samples counted.</summary>
    public int Ingest(string instanceId, IReadOnlyList<TaskUsageSample> samples)
    {
        // The scheduler's clock, not the agent's: ages are then comparable across hosts whatever their clocks say.
        var now = time.GetUtcNow();
        return kernel.ReadInstance(instanceId, (state, instance) =>
        {
            if (state is null || instance is null)
            {
                return 0;
            }

            var counted = 0;
            foreach (var sample in samples)
            {
                if (!state.Tasks.TryGetValue(sample.TaskId, out var task) || task.InstanceId != instanceId || task.LastStatus == LifecycleStatus.Stopped
                    || !double.IsFinite(sample.CpuUnits) || !double.IsFinite(sample.MemoryMiB) || sample.CpuUnits < 0 || sample.MemoryMiB < 0)
                {
                    continue;
                }

                var service = task.Group.StartsWith("service:", StringComparison.Ordinal) ? task.Group["service:".Length..] : null;
                var usage = new TaskUsage(
                    task.Id, state.Name, service, instanceId, sample.CpuUnits, task.Reservation.Cpu, sample.MemoryMiB, task.Reservation.Memory,
                    ServiceMetrics.CpuPercent(sample.CpuUnits, task.Reservation.Cpu), ServiceMetrics.MemoryPercent(sample.MemoryMiB, task.Reservation.Memory), now);
                _latest[task.Id] = usage;
                if (service is not null)
                {
                    metrics.Ingest(task.Id, ScalableTargetRecord.MetricsKey(state.Name, service), usage.CpuPercent, usage.MemoryPercent, now);
                }

                counted++;
            }

            return counted;
        });
    }

    /// <summary>A task's newest sample, or null.</summary>
    public TaskUsage? Get(string taskId) => _latest.GetValueOrDefault(taskId);

    /// <summary>Every newest sample of a cluster (optionally of one service), by task id.</summary>
    public List<TaskUsage> Of(string cluster, string? service) =>
        [.. _latest.Values.Where(u => u.Cluster == cluster && (service is null || u.Service == service)).OrderBy(u => u.TaskId, StringComparer.Ordinal)];

    /// <summary>Drops samples older than <paramref name="before"/>.</summary>
    public void Expire(DateTimeOffset before)
    {
        metrics.Expire(before);
        foreach (var (id, usage) in _latest)
        {
            if (usage.At < before)
            {
                _latest.TryRemove(new KeyValuePair<string, TaskUsage>(id, usage));
            }
        }
    }

    public void OnCommitted(CommittedChange change)
    {
        foreach (var task in change.Tasks)
        {
            if (task.LastStatus == LifecycleStatus.Stopped && _latest.TryRemove(task.Id, out _))
            {
                metrics.Forget(task.Id);
            }
        }
    }
}

/// <summary>One task's sample as its agent reported it.</summary>
internal readonly record struct TaskUsageSample(string TaskId, double CpuUnits, double MemoryMiB);

/// <summary>A task's newest sample with what it reserves and the utilization that makes.</summary>
internal sealed record TaskUsage(
    string TaskId, string Cluster, string? Service, string InstanceId, double CpuUnits, int CpuReserved, double MemoryMiB, int MemoryReserved,
    double CpuPercent, double MemoryPercent, DateTimeOffset At);

using Berth.Agent.Isolation;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Agent.Stats;

/// <summary>
/// Samples what each running task uses, for the scheduler's service auto scaling (ECS's CPU and memory utilization).
/// CPU is a rate, so a task's first sample only sets its baseline; each later one reports the CPU units used over the
/// interval since (1,024 per busy core) and the memory in use now, summed over the task's containers.
/// </summary>
/// <remarks>
/// Where it reads, cheapest first: the task's own cgroup (cgroup v1, one per task with task-level limits: two small
/// files for all its containers), else each container's cgroup under the engine's default parent (<c>/docker/&lt;id&gt;</c>,
/// the cgroupfs driver), else the engine's one-shot stats (an HTTP call per container, in which dockerd reads the same
/// files and encodes a large JSON document; it works everywhere: cgroup v2, the systemd driver, an agent in a container).
/// At 10 s intervals and a few hundred tasks a host, either is far below 1 % of a core; the files avoid dockerd entirely.
/// </remarks>
internal sealed class TaskStatsSampler(TaskEngine engine, TaskCgroups cgroups, IContainerRuntime runtime, TimeProvider time)
{
    private const string EngineDefaultParent = "/docker";

    private readonly Dictionary<string, (long CpuNanos, long Timestamp)> _previous = new(StringComparer.Ordinal);

    /// <summary>How the last sample was read, per task (tests and diagnostics): cgroup-task, cgroup-container or engine.</summary>
    public Dictionary<string, string> Sources { get; } = new(StringComparer.Ordinal);

    /// <summary>One sample of every running task; tasks seen for the first time are in the next one. Not thread-safe: one caller.</summary>
    public async Task<TaskStatsReport> SampleAsync(CancellationToken cancellationToken)
    {
        var report = new TaskStatsReport { SampledAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()) };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (taskId, containers) in engine.RunningContainers())
        {
            var stamp = time.GetTimestamp();
            var usage = await ReadAsync(taskId, containers, cancellationToken);
            if (usage is not { } u)
            {
                continue;
            }

            seen.Add(taskId);
            if (_previous.TryGetValue(taskId, out var before) && u.CpuNanos >= before.CpuNanos)
            {
                var elapsed = time.GetElapsedTime(before.Timestamp, stamp);
                if (elapsed > TimeSpan.Zero)
                {
                    report.Tasks.Add(new TaskStats
                    {
                        TaskId = taskId,
                        CpuUnits = (u.CpuNanos - before.CpuNanos) / (elapsed.TotalMilliseconds * 1_000_000) * 1024,
                        MemoryMib = u.MemoryBytes / (1024.0 * 1024),
                        IntervalMs = (long)elapsed.TotalMilliseconds,
                    });
                }
            }

            // A counter that went down is a restarted container: start again from it.
            _previous[taskId] = (u.CpuNanos, stamp);
        }

        foreach (var gone in _previous.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _previous.Remove(gone);
            Sources.Remove(gone);
        }

        return report;
    }

    private async Task<ContainerUsage?> ReadAsync(string taskId, IReadOnlyList<string> containers, CancellationToken cancellationToken)
    {
        if (cgroups.ReadUsage(cgroups.PathFor(taskId)) is { } task)
        {
            Sources[taskId] = "cgroup-task";
            return task;
        }

        long cpu = 0, memory = 0;
        var fromFiles = true;
        foreach (var id in containers)
        {
            if (cgroups.ReadUsage($"{EngineDefaultParent}/{id}") is not { } own)
            {
                fromFiles = false;
                break;
            }

            cpu += own.CpuNanos;
            memory += own.MemoryBytes;
        }

        if (fromFiles)
        {
            Sources[taskId] = "cgroup-container";
            return new ContainerUsage(cpu, memory);
        }

        (cpu, memory) = (0, 0);
        foreach (var id in containers)
        {
            if (await runtime.GetUsageAsync(id, cancellationToken) is not { } own)
            {
                // A container stopped between the listing and now: the task's sum would be wrong this once.
                return null;
            }

            cpu += own.CpuNanos;
            memory += own.MemoryBytes;
        }

        Sources[taskId] = "engine";
        return new ContainerUsage(cpu, memory);
    }
}

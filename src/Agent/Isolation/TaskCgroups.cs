using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Isolation;

/// <summary>
/// One cgroup per task (cgroup v1, the cgroupfs driver) that holds the task-level cpu and memory of its definition:
/// the agent makes <c>&lt;Cgroups:Parent&gt;/task-&lt;id&gt;</c> in the memory and cpu controllers, writes the limits,
/// and the engine creates every container of the task below it (<c>--cgroup-parent</c>). The containers then share
/// the task's memory as ECS's task-level memory does: the kernel kills inside the task when the sum goes above it.
/// </summary>
internal sealed partial class TaskCgroups(IOptions<AgentOptions> options, ILogger<TaskCgroups> logger)
{
    /// <summary>The CFS period the quota is a share of (the kernel's default, 100 ms).</summary>
    public const long CfsPeriodMicros = 100_000;

    private CgroupOptions Cgroups => options.Value.Cgroups;

    /// <summary>cgroup v1 with the memory and cpu controllers where the options say.</summary>
    public bool Available => Cgroups.Enabled
        && File.Exists(Path.Combine(Cgroups.Root, "memory", "memory.limit_in_bytes"))
        && File.Exists(Path.Combine(Cgroups.Root, "cpu", "cpu.cfs_quota_us"));

    /// <summary>The task's cgroup as the engine's <c>CgroupParent</c> takes it.</summary>
    public string PathFor(string taskId) => $"{Cgroups.Parent.TrimEnd('/')}/task-{UnsafeChars().Replace(taskId, "_")}";

    /// <summary>
    /// Makes the task's cgroup with its limits (idempotent: every container launch calls it) and returns its path, or
    /// null when the task has no task-level limits or this host cannot apply them (then each container is capped).
    /// </summary>
    public string? Prepare(TaskSpec task)
    {
        if ((task.CpuLimit <= 0 && task.MemoryLimit <= 0) || !Available)
        {
            return null;
        }

        var relative = PathFor(task.TaskId);
        try
        {
            var memory = Controller("memory", relative);
            Directory.CreateDirectory(memory);
            if (task.MemoryLimit > 0)
            {
                var bytes = task.MemoryLimit * 1024L * 1024;
                Write(memory, "memory.limit_in_bytes", bytes);

                // With swap accounting, memory+swap gets the same cap: the task's memory is its memory, not a swap budget.
                if (File.Exists(Path.Combine(memory, "memory.memsw.limit_in_bytes")))
                {
                    Write(memory, "memory.memsw.limit_in_bytes", bytes);
                }
            }

            var cpu = Controller("cpu", relative);
            Directory.CreateDirectory(cpu);
            if (task.CpuLimit > 0)
            {
                Write(cpu, "cpu.cfs_period_us", CfsPeriodMicros);
                Write(cpu, "cpu.cfs_quota_us", Math.Max(1000, task.CpuLimit * CfsPeriodMicros / 1024));

                // ECS: cpu units are the task's weight against other tasks when the host's cpus are contended.
                Write(cpu, "cpu.shares", Math.Max(2, task.CpuLimit));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CgroupException($"cannot set the task's cgroup {relative}: {ex.Message}");
        }

        return relative;
    }

    /// <summary>Removes the task's cgroup from every controller (the engine removes its containers' own cgroups).</summary>
    public void Remove(string taskId)
    {
        if (!Cgroups.Enabled || !Directory.Exists(Cgroups.Root))
        {
            return;
        }

        var relative = PathFor(taskId).TrimStart('/');
        foreach (var controller in Directory.EnumerateDirectories(Cgroups.Root))
        {
            var path = Path.Combine(controller, relative);
            try
            {
                if (Directory.Exists(path))
                {
                    // rmdir, never recursive: a cgroup goes only when its processes and children have gone.
                    Directory.Delete(path, recursive: false);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogRemoveFailed(logger, path, ex.Message);
            }
        }
    }

    /// <summary>
    /// What a cgroup (relative to the controllers, e.g. the task's <see cref="PathFor"/> or <c>/docker/&lt;id&gt;</c>) has used,
    /// from cgroup v1's files: <c>cpuacct.usage</c> (ns) and <c>memory.usage_in_bytes</c> less <c>total_inactive_file</c>
    /// (as <c>docker stats</c> counts). Null when the files are not there (no such cgroup, cgroup v2, no access).
    /// </summary>
    public ContainerUsage? ReadUsage(string relative)
    {
        var cpuFile = Path.Combine(Controller("cpuacct", relative), "cpuacct.usage");
        var memoryDirectory = Controller("memory", relative);
        try
        {
            if (!File.Exists(cpuFile))
            {
                return null;
            }

            var cpu = long.Parse(File.ReadAllText(cpuFile).AsSpan().Trim(), CultureInfo.InvariantCulture);
            var memory = long.Parse(File.ReadAllText(Path.Combine(memoryDirectory, "memory.usage_in_bytes")).AsSpan().Trim(), CultureInfo.InvariantCulture);
            foreach (var line in File.ReadLines(Path.Combine(memoryDirectory, "memory.stat")))
            {
                if (line.StartsWith("total_inactive_file ", StringComparison.Ordinal))
                {
                    memory -= Math.Min(memory, long.Parse(line.AsSpan("total_inactive_file ".Length), CultureInfo.InvariantCulture));
                    break;
                }
            }

            return new ContainerUsage(cpu, memory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            // Gone between the check and the read (the task stopped), or not a file we understand: the caller falls back.
            return null;
        }
    }

    /// <summary>Whether the task's cgroup exists in the memory controller (tests, diagnostics).</summary>
    public string MemoryPath(string taskId) => Controller("memory", PathFor(taskId));

    private string Controller(string name, string relative) => Path.Combine(Cgroups.Root, name, relative.TrimStart('/'));

    private static void Write(string directory, string file, long value) =>
        File.WriteAllText(Path.Combine(directory, file), value.ToString(CultureInfo.InvariantCulture));

    [GeneratedRegex("[^a-zA-Z0-9_.-]")]
    private static partial Regex UnsafeChars();
}

/// <summary>The task's cgroup could not be made; the message is ready for <c>ResourceInitializationError: ...</c>.</summary>
internal sealed class CgroupException(string message) : Exception(message);

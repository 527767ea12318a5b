using System.Collections.Concurrent;
using Berth.Agent.Configuration;
using Berth.Agent.Logs;
using Berth.Agent.Runtime;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>
/// What happens to a stopped task once the scheduler no longer lists it (ECS's task cleanup). Its last lines of output
/// are saved at once (<see cref="LogArchive"/>); its containers stay for <see cref="TaskCleanupOptions.Wait"/> (3 h), so
/// that <c>berth logs</c> and <c>docker inspect</c> still see them, unless disk or the count limit needs them gone
/// earlier (oldest first); then they are removed with the task's volumes. The list of kept tasks lives in the data dir,
/// so a restarted agent neither adopts their containers as live tasks nor reports them again.
/// </summary>
internal sealed partial class StoppedTaskRetention(
    IContainerRuntime runtime,
    LogArchive archive,
    AgentDataDirectory data,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<StoppedTaskRetention> logger)
{
    private readonly Lock _saveLock = new();
    private readonly Lazy<ConcurrentDictionary<string, RetainedTask>> _retained = new(() => new(
        (AgentDataDirectory.Read<List<RetainedTask>>(data.StoppedTasks) ?? []).ToDictionary(t => t.TaskId, StringComparer.Ordinal), StringComparer.Ordinal));

    /// <summary>A stopped task whose containers are kept (since <see cref="KeptAt"/>, when the scheduler let go of it) until <see cref="RemoveAfter"/>.</summary>
    public sealed record RetainedTask(string TaskId, DateTimeOffset StoppedAt, DateTimeOffset KeptAt, DateTimeOffset RemoveAfter);

    private TaskCleanupOptions Limits => options.Value.TaskCleanup;

    /// <summary>The task is stopped and kept: its containers are not a live task's.</summary>
    public bool IsRetained(string taskId) => _retained.Value.ContainsKey(taskId);

    /// <summary>The kept tasks, oldest first.</summary>
    public IReadOnlyList<RetainedTask> Retained => [.. _retained.Value.Values.OrderBy(t => t.KeptAt)];

    /// <summary>
    /// Takes over a stopped task the scheduler no longer lists: saves its output, then keeps its containers for the
    /// cleanup wait (or removes them at once when the wait is zero).
    /// </summary>
    public async Task RetainAsync(string taskId, IReadOnlyCollection<ContainerDetails> containers, DateTimeOffset stoppedAt, CancellationToken cancellationToken)
    {
        if (IsRetained(taskId))
        {
            return;
        }

        await SaveLogsAsync(taskId, containers, cancellationToken);
        if (Limits.Wait <= TimeSpan.Zero || Limits.MaxRetainedTasks == 0)
        {
            await RemoveContainersAsync(taskId, cancellationToken);
            return;
        }

        // The wait runs from now, when the scheduler has let go of the task (it stopped moments ago, or before an agent restart).
        var now = time.GetUtcNow();
        _retained.Value[taskId] = new RetainedTask(taskId, stoppedAt, now, now + Limits.Wait);
        Save();
        LogRetained(logger, taskId, containers.Count, Limits.Wait.TotalMinutes);
    }

    /// <summary>
    /// One cleanup round: removes the containers of tasks past their wait, beyond the count limit, or (oldest first)
    /// while the engine's disk is fuller than the threshold; then expires saved lines. Returns the task ids removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAsync(Func<double>? diskUsedPercent, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        var now = time.GetUtcNow();
        var queue = Retained.ToList();
        foreach (var task in queue.ToList())
        {
            var overCount = queue.Count > Limits.MaxRetainedTasks;
            var why = task.RemoveAfter <= now ? "the cleanup wait is over"
                : overCount ? $"more than {Limits.MaxRetainedTasks} stopped tasks are kept"
                : diskUsedPercent?.Invoke() > Limits.DiskUsageThresholdPercent ? $"the engine's disk is more than {Limits.DiskUsageThresholdPercent}% full"
                : null;
            if (why is null)
            {
                continue;
            }

            await RemoveContainersAsync(task.TaskId, cancellationToken);
            _retained.Value.TryRemove(task.TaskId, out _);
            queue.Remove(task);
            removed.Add(task.TaskId);
            LogRemoved(logger, task.TaskId, why);
        }

        if (removed.Count > 0)
        {
            Save();
        }

        var expired = archive.Sweep();
        if (expired > 0)
        {
            LogSavedLinesExpired(logger, expired);
        }

        return removed;
    }

    private async Task SaveLogsAsync(string taskId, IReadOnlyCollection<ContainerDetails> containers, CancellationToken cancellationToken)
    {
        // A task listed again after a restart (as STOPPED) comes back here without containers: keep what was saved.
        if (Limits.SavedLogBytesPerContainer == 0 || containers.Count == 0 || archive.Exists(taskId))
        {
            return;
        }

        var saved = new SavedTaskLogs { TaskId = taskId };
        // Lines are at least a newline each; ask for enough to fill the byte budget with short lines.
        var lineBudget = Math.Max(100, Limits.SavedLogBytesPerContainer / 16);
        foreach (var container in containers)
        {
            var name = container.Labels.GetValueOrDefault(ContainerLabels.ContainerName) ?? container.Name;
            if (name == ContainerSpec.SandboxName)
            {
                // An awsvpc task's sandbox is the agent's, not the user's: it writes nothing worth keeping.
                continue;
            }

            var lines = new List<LogLine>();
            try
            {
                await foreach (var line in runtime.ReadLogsAsync(container.Id, new LogReadSpec { Tail = lineBudget }, cancellationToken))
                {
                    lines.Add(line);
                }
            }
            catch (ContainerRuntimeException ex)
            {
                // A log driver the engine cannot read back (none, syslog, ...): nothing to save for this one.
                LogNotSaved(logger, taskId, name, ex.Message);
                continue;
            }

            saved.Containers[name] = archive.Bound(lines, moreBefore: lines.Count >= lineBudget);
        }

        try
        {
            archive.Save(saved);
        }
        catch (IOException ex)
        {
            LogNotSaved(logger, taskId, "*", ex.Message);
        }
    }

    private async Task RemoveContainersAsync(string taskId, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string> { [ContainerLabels.Agent] = options.Value.Scope, [ContainerLabels.TaskId] = taskId };
        foreach (var c in await runtime.ListContainersAsync(labels, cancellationToken))
        {
            await runtime.RemoveContainerAsync(c.Id, cancellationToken);
        }

        // Task-scoped volumes go with the task (shared ones carry no task label and stay).
        await runtime.RemoveVolumesAsync(new Dictionary<string, string> { [ContainerLabels.TaskId] = taskId }, cancellationToken);
    }

    private void Save()
    {
        lock (_saveLock)
        {
            // Durable: a restarted agent that lost this list would adopt kept containers as live tasks.
            AgentDataDirectory.Write(data.StoppedTasks, Retained.ToList());
        }
    }
}

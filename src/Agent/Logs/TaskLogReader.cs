using System.Runtime.CompilerServices;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Logs;

/// <summary>A request for one container's output (<c>berth logs</c>).</summary>
internal sealed record TaskLogQuery(string TaskId, string Container)
{
    public bool Follow { get; init; }

    /// <summary>Lines from the end; null: all, 0: none.</summary>
    public int? Tail { get; init; }

    public DateTimeOffset? Since { get; init; }
}

/// <summary>Where a stream's lines come from.</summary>
internal enum LogSource
{
    Runtime,
    Saved,
    None,
}

/// <summary>Said before the lines (or alone): where they come from, in a sentence.</summary>
internal sealed record LogNotice(LogSource Source, string Message, DateTimeOffset? SavedAt = null, bool Truncated = false);

/// <summary>One item of a log stream: a line or a notice.</summary>
internal readonly record struct LogItem(LogLine? Line, LogNotice? Notice)
{
    public static implicit operator LogItem(LogLine line) => new(line, null);

    public static implicit operator LogItem(LogNotice notice) => new(null, notice);
}

/// <summary>
/// Serves <c>berth logs</c> on this host: the container's output from the engine while the container exists (running,
/// or stopped and kept for the cleanup wait), else the last lines saved when its task stopped, else a notice that
/// nothing is left. <see cref="LogNotice"/>s say which, so the caller never mistakes "nothing left" for "no output".
/// </summary>
internal sealed class TaskLogReader(IContainerRuntime runtime, TaskEngine engine, LogArchive archive, IOptions<AgentOptions> options)
{
    /// <summary>The notice (when there is one) comes first; then the lines.</summary>
    public async IAsyncEnumerable<LogItem> ReadAsync(TaskLogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (query.Tail < 0)
        {
            yield return new LogNotice(LogSource.None, $"tail must be 0 (no lines) or more, not {query.Tail}");
            yield break;
        }

        var labels = new Dictionary<string, string>
        {
            [ContainerLabels.Agent] = options.Value.Scope,
            [ContainerLabels.TaskId] = query.TaskId,
            [ContainerLabels.ContainerName] = query.Container,
        };
        var found = await runtime.ListContainersAsync(labels, cancellationToken);
        var container = found.Count > 0 ? found[0] : null;
        if (container is not null)
        {
            var lines = runtime.ReadLogsAsync(container.Id, new LogReadSpec { Follow = query.Follow, Tail = query.Tail, Since = query.Since }, cancellationToken);
            await using var reader = lines.GetAsyncEnumerator(cancellationToken);
            LogNotice? failed = null;
            while (true)
            {
                try
                {
                    if (!await reader.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (ContainerRuntimeException ex)
                {
                    // The engine cannot read this container's output back (a `none` or remote log driver).
                    failed = new LogNotice(LogSource.None, $"the engine cannot read the output of container '{query.Container}' of task {query.TaskId}: {ex.Message}");
                    break;
                }

                yield return reader.Current;
            }

            if (failed is not null)
            {
                yield return failed;
            }

            yield break;
        }

        if (archive.Read(query.TaskId) is { } saved && saved.Containers.TryGetValue(query.Container, out var log))
        {
            yield return new LogNotice(
                LogSource.Saved,
                $"the containers of task {query.TaskId} have been removed; these are the last lines of '{query.Container}' the agent saved when the task stopped"
                + (log.Truncated ? $" (older output was cut at {options.Value.TaskCleanup.SavedLogBytesPerContainer / 1024} KiB)" : string.Empty),
                saved.SavedAt,
                log.Truncated);
            foreach (var line in Select(log.Lines.Select(l => l.ToLogLine()).ToList(), query))
            {
                yield return line;
            }

            yield break;
        }

        var known = engine.Snapshot().FirstOrDefault(r => r.TaskId == query.TaskId);
        yield return new LogNotice(LogSource.None, known is { Status: LocalStatus.Pending or LocalStatus.Running }
            ? $"container '{query.Container}' of task {query.TaskId} has not been created yet; retry once the task runs"
            : $"no output of container '{query.Container}' of task {query.TaskId} is left on this host: its containers have been removed and no lines were saved"
              + $" (the agent keeps stopped containers for {Describe(options.Value.TaskCleanup.Wait)} and their last lines for {Describe(options.Value.TaskCleanup.SavedLogRetention)})");
    }

    /// <summary>Since and tail over saved lines, as the engine applies them to a container's output.</summary>
    internal static IEnumerable<LogLine> Select(IReadOnlyList<LogLine> lines, TaskLogQuery query)
    {
        IEnumerable<LogLine> selected = query.Since is { } since ? lines.Where(l => l.Time is not { } t || t >= since) : lines;
        return query.Tail is { } tail ? selected.TakeLast(tail) : selected;
    }

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays) ? $"{span.TotalDays:0} days"
        : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} h"
        : $"{span.TotalMinutes:0.#} min";
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Berth.Core.IO;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Logs;

/// <summary>The saved output of one container of a stopped task.</summary>
internal sealed record SavedContainerLog
{
    /// <summary>The lines, oldest first.</summary>
    public List<SavedLine> Lines { get; init; } = [];

    /// <summary>Older output was cut off to stay within the size limit.</summary>
    public bool Truncated { get; init; }
}

/// <summary>One saved line: the engine's timestamp, whether it came from standard error, the text.</summary>
internal sealed record SavedLine(
    [property: JsonPropertyName("t")] string? Timestamp,
    [property: JsonPropertyName("e")] bool IsError,
    [property: JsonPropertyName("d")] string Text)
{
    public LogLine ToLogLine() => new(IsError, Text, Timestamp);
}

/// <summary>The saved output of a stopped task's containers.</summary>
internal sealed record SavedTaskLogs
{
    public required string TaskId { get; init; }

    public DateTimeOffset SavedAt { get; init; }

    /// <summary>By container name.</summary>
    public Dictionary<string, SavedContainerLog> Containers { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The last lines of output of stopped tasks, one JSON file per task under <c>&lt;data-dir&gt;/logs/</c> (<see cref="AgentDataDirectory.SavedLogs"/>), written
/// durably (temp file, fsync, rename) when the task stops, so that <c>berth logs</c> can still say why a task died after
/// its containers are gone. Bounded: <see cref="TaskCleanupOptions.SavedLogBytesPerContainer"/> per container (the
/// newest lines win), <see cref="TaskCleanupOptions.MaxSavedLogTasks"/> tasks, <see cref="TaskCleanupOptions.SavedLogRetention"/>.
/// </summary>
internal sealed class LogArchive(IOptions<AgentOptions> options, AgentDataDirectory data, TimeProvider time)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private string Directory => data.SavedLogs;

    private TaskCleanupOptions Limits => options.Value.TaskCleanup;

    public bool Exists(string taskId) => File.Exists(PathOf(taskId));

    /// <summary>Keeps the newest lines within the per-container byte limit; says whether older ones were dropped.</summary>
    public SavedContainerLog Bound(IReadOnlyList<LogLine> lines, bool moreBefore)
    {
        var budget = Limits.SavedLogBytesPerContainer;
        var kept = new List<SavedLine>();
        var used = 0;
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            var size = Encoding.UTF8.GetByteCount(lines[i].Text) + 1;
            if (used + size > budget)
            {
                moreBefore = true;
                break;
            }

            used += size;
            kept.Add(new SavedLine(lines[i].Timestamp, lines[i].IsError, lines[i].Text));
        }

        kept.Reverse();
        return new SavedContainerLog { Lines = kept, Truncated = moreBefore };
    }

    public void Save(SavedTaskLogs logs)
    {
        var now = time.GetUtcNow();
        var path = PathOf(logs.TaskId);
        OwnerOnlyFile.WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(logs with { SavedAt = now }, s_json), durable: true);
        // The sweep orders and expires by modification time: make it the agent's clock, not the filesystem's.
        File.SetLastWriteTimeUtc(path, now.UtcDateTime);
    }

    public SavedTaskLogs? Read(string taskId)
    {
        try
        {
            return JsonSerializer.Deserialize<SavedTaskLogs>(File.ReadAllBytes(PathOf(taskId)), s_json);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Removes saved lines past their retention, then the oldest beyond the task limit; returns how many went.</summary>
    public int Sweep()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return 0;
        }

        var files = new DirectoryInfo(Directory).GetFiles("*.json").OrderByDescending(f => f.LastWriteTimeUtc).ToList();
        var cutoff = time.GetUtcNow() - Limits.SavedLogRetention;
        var removed = 0;
        for (var i = 0; i < files.Count; i++)
        {
            if (i >= Limits.MaxSavedLogTasks || files[i].LastWriteTimeUtc < cutoff.UtcDateTime)
            {
                files[i].Delete();
                removed++;
            }
        }

        return removed;
    }

    // Task ids are the scheduler's (32 hex characters); anything else is refused rather than used in a path.
    private string PathOf(string taskId) =>
        taskId.Length is > 0 and <= 128 && taskId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? Path.Combine(Directory, taskId + ".json")
            : throw new ArgumentException($"'{taskId}' is not a task id.", nameof(taskId));
}

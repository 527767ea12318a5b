using Berth.Scheduler.V1;

namespace Berth.Scheduler.State;

/// <summary>
/// The part of a <see cref="TaskRecord"/> that start-up does not need: nothing places, pushes or counts by it until a
/// read, a push or an agent's report names the task, so a loaded task decodes it from its stored bytes then (see
/// <see cref="TaskRecord.StoredInfo"/>). Mutable like the record, and guarded by the state lock like it.
/// </summary>
internal sealed class TaskDetails
{
    public string StartedBy { get; set; } = "";

    public string LaunchType { get; set; } = "EC2";

    public TaskOverride? Overrides { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public StopCode StopCode { get; set; }

    public string StoppedReason { get; set; } = "";

    public HealthStatus HealthStatus { get; set; }

    public List<Container> Containers { get; set; } = [];

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? StoppingAt { get; set; }

    public DateTimeOffset? StoppedAt { get; set; }

    public DateTimeOffset? LastReportedAt { get; set; }

    public long Version { get; set; } = 1;

    /// <summary>The details of a stored <see cref="TaskInfo"/>, as the eager loader decoded them.</summary>
    public static TaskDetails Decode(byte[] stored)
    {
        var info = TaskInfo.Parser.ParseFrom(stored);
        foreach (var container in info.Containers)
        {
            container.Name = SharedStrings.Intern(container.Name);
            container.Image = SharedStrings.Intern(container.Image);
        }

        return new TaskDetails
        {
            StartedBy = SharedStrings.Intern(info.StartedBy),
            LaunchType = SharedStrings.Intern(info.LaunchType),
            Overrides = info.Overrides,
            CreatedAt = SchedulerState.At(info.CreatedAt) ?? DateTimeOffset.UnixEpoch,
            StopCode = info.StopCode,
            StoppedReason = info.StoppedReason,
            HealthStatus = info.HealthStatus,
            Containers = [.. info.Containers],
            StartedAt = SchedulerState.At(info.StartedAt),
            StoppingAt = SchedulerState.At(info.StoppingAt),
            StoppedAt = SchedulerState.At(info.StoppedAt),
            LastReportedAt = SchedulerState.At(info.LastReportedAt),
            Version = info.Version,
        };
    }

    /// <summary>
    /// One string per repeated value (container names and images, launch types, startedBy) across tasks decoded at
    /// any time, from any thread. Bounded: past the limit, values are kept as decoded.
    /// </summary>
    private static class SharedStrings
    {
        private const int Limit = 65_536;
        private static readonly Lock s_gate = new();
        private static readonly Dictionary<string, string> s_pool = new(StringComparer.Ordinal);

        public static string Intern(string value)
        {
            if (value.Length == 0)
            {
                return "";
            }

            lock (s_gate)
            {
                if (s_pool.TryGetValue(value, out var pooled))
                {
                    return pooled;
                }

                if (s_pool.Count < Limit)
                {
                    s_pool[value] = value;
                }

                return value;
            }
        }
    }
}

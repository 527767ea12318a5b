using System.Diagnostics;
using System.Globalization;
using Berth.Bench.SchedulerLoad;

// End-to-end scheduler benchmark. Three parts:
//   e2e:   a fresh scheduler process, N simulated agents with real Session streams over loopback (spread over C
//          clusters), RunTask until T tasks are placed, persisted and delivered to their agents' sessions; throughput
//          and delivery latency.
//   state: a data dir with I instances and R task records written with the scheduler's own store, then a scheduler
//          process started on it: time until it answers, and its RSS.
//   churn: L task lifetimes (RunTask, the agent reports the task STOPPED) through N simulated agents, with short
//          retention settings: throughput, RSS and database size sampled as they go (bounded state).
//   discovery: N simulated agents, one awsvpc service; how long a service discovery change takes to reach every agent.
var settings = Settings.Parse(args);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Machine.MemoryGiB():F1} GiB, {Machine.CpuModel()}; load average {Machine.LoadAverage()}");
if (settings.Part is "all" or "e2e")
{
    await EndToEnd.RunAsync(settings);
}

if (settings.Part is "all" or "state")
{
    await LargeState.RunAsync(settings);
}

if (settings.Part is "churn")
{
    await Churn.RunAsync(settings);
}

if (settings.Part is "discovery")
{
    await DiscoveryPropagation.RunAsync(settings, rounds: 200);
}

internal sealed record Settings(
    string Part, int Agents, int Tasks, int Concurrency, int Instances, int Records, bool FullSync, string? DataDir, string Strategy, int Clusters, long Lifetimes, TimeSpan Visibility, TimeSpan RowRetention)
{
    public static Settings Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        return new Settings(
            Get("part", "all"),
            Int("agents", 1000),
            Int("tasks", 100_000),
            Int("concurrency", 64),
            Int("instances", 10_000),
            Int("records", 1_000_000),
            bool.Parse(Get("full-sync", "true")),
            Get("data-dir", "") is { Length: > 0 } d ? d : null,
            Get("strategy", "spread"),
            Int("clusters", 1),
            long.Parse(Get("lifetimes", "5000000"), CultureInfo.InvariantCulture),
            TimeSpan.Parse(Get("visibility", "00:00:30"), CultureInfo.InvariantCulture),
            TimeSpan.Parse(Get("row-retention", "00:01:00"), CultureInfo.InvariantCulture));
    }
}

internal static class Machine
{
    public static double MemoryGiB() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);

    public static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>User plus system CPU seconds a process has used.</summary>
    public static double CpuSeconds(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>VmRSS and VmHWM of a process, in MiB.</summary>
    public static (double Rss, double Peak) Memory(Process process)
    {
        double Field(string name)
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith(name + ":", StringComparison.Ordinal));
            return double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }

        return (Field("VmRSS"), Field("VmHWM"));
    }
}

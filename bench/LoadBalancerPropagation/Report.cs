using System.Globalization;

namespace Berth.Bench.LoadBalancerPropagation;

/// <summary>The figures, as a markdown table for docs/benchmarks.md.</summary>
internal static class Report
{
    public static void Print(Settings settings, Churn churn, IReadOnlyList<BalancerReplica> replicas, ResourceSampler usage, int[] appliedDuring, TimeSpan window, string loadBefore, string loadAfter)
    {
        var measured = churn.Operations.Where(o => o.Measured && !o.Failed).ToList();
        var failed = churn.Operations.Count(o => o.Failed);
        var missing = measured.Sum(o => o.AppliedAt.Count(a => a is null));
        Console.WriteLine();
        Console.WriteLine($"measured {measured.Count} operations over {window.TotalSeconds:F1} s ({measured.Count / window.TotalSeconds:F1}/s achieved), {failed} calls failed, " +
            $"{missing} replica observations missing after 30 s, {churn.UnknownLines} target lines matched no call; load average {loadBefore} -> {loadAfter}");
        Console.WriteLine();
        Console.WriteLine("| from the call's send to | samples | p50 ms | p95 ms | p99 ms | max ms | configurations applied/s |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        Row("the scheduler's reply (commit)", measured.Select(o => (o.Replied - o.Sent).TotalMilliseconds), "");
        for (var r = 0; r < replicas.Count; r++)
        {
            var index = r;
            Row($"{replicas[r].Name} serving it", measured.Where(o => o.AppliedAt[index] is not null).Select(o => (o.AppliedAt[index]!.Value - o.Sent).TotalMilliseconds),
                (appliedDuring[r] / window.TotalSeconds).ToString("F1", CultureInfo.InvariantCulture));
        }

        Row("**every** balancer serving it", measured.Where(o => o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        Row("every balancer, registrations", measured.Where(o => o.Change == "registered" && o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        Row("every balancer, deregistrations", measured.Where(o => o.Change == "draining" && o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        // Builds side by side: "every replica" of each build alone (the latest of its replicas per call).
        var builds = replicas.Select(r => r.Build).Distinct().ToList();
        if (builds.Count > 1)
        {
            foreach (var build in builds)
            {
                var mine = replicas.Where(r => r.Build == build).Select(r => r.Index).ToArray();
                Row($"**every {build}** balancer serving it", measured.Where(o => mine.All(i => o.AppliedAt[i] is not null)).Select(o => mine.Max(i => (o.AppliedAt[i]!.Value - o.Sent).TotalMilliseconds)), "");
            }
        }
        Console.WriteLine();
        // CPU per applied configuration moves far less with the machine's load than the latencies do.
        Console.WriteLine("| process | CPU (% of one core) | CPU ms per applied configuration | peak RSS MiB | RSS at end MiB | VmHWM MiB |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, cpu, peak, end, hwm) in usage.Results)
        {
            var replica = replicas.FirstOrDefault(r => r.Name == name);
            var perConfig = replica is not null && appliedDuring[replica.Index] > 0
                ? (cpu / 100 * window.TotalSeconds * 1000 / appliedDuring[replica.Index]).ToString("F1", CultureInfo.InvariantCulture)
                : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {cpu:F0} | {perConfig} | {peak:F1} | {end:F1} | {hwm:F1} |"));
        }
    }

    private static void Row(string name, IEnumerable<double> values, string rate)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            Console.WriteLine($"| {name} | 0 | | | | | {rate} |");
            return;
        }

        double P(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {sorted.Length} | {P(0.50):F1} | {P(0.95):F1} | {P(0.99):F1} | {sorted[^1]:F1} | {rate} |"));
    }
}

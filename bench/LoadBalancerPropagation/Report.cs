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
            Row($"balancer {r} serving it", measured.Where(o => o.AppliedAt[index] is not null).Select(o => (o.AppliedAt[index]!.Value - o.Sent).TotalMilliseconds),
                (appliedDuring[r] / window.TotalSeconds).ToString("F1", CultureInfo.InvariantCulture));
        }

        Row("**every** balancer serving it", measured.Where(o => o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        Row("every balancer, registrations", measured.Where(o => o.Change == "registered" && o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        Row("every balancer, deregistrations", measured.Where(o => o.Change == "draining" && o.AppliedAt.All(a => a is not null)).Select(o => (o.AppliedAt.Max()!.Value - o.Sent).TotalMilliseconds), "");
        Console.WriteLine();
        Console.WriteLine("| process | CPU (% of one core) | peak RSS MiB | RSS at end MiB | VmHWM MiB |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, cpu, peak, end, hwm) in usage.Results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {cpu:F0} | {peak:F1} | {end:F1} | {hwm:F1} |"));
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

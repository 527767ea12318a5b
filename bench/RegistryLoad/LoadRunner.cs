using System.Diagnostics;

namespace Berth.Bench.RegistryLoad;

/// <summary>What one workload did while measured.</summary>
internal sealed record LoadResult(string Workload, string Unit, int Concurrency, int Operations, int Errors, double Seconds, long Bytes, double[] SortedLatenciesMs, IReadOnlyList<string> SampleErrors)
{
    public double OperationsPerSecond => (Operations - Errors) / Seconds;

    public double MiBPerSecond => Bytes / Seconds / (1 << 20);

    /// <summary>Nearest-rank percentile of the successful operations' latencies.</summary>
    public double Percentile(double q) =>
        SortedLatenciesMs.Length == 0 ? double.NaN : SortedLatenciesMs[Math.Clamp((int)Math.Ceiling(q * SortedLatenciesMs.Length) - 1, 0, SortedLatenciesMs.Length - 1)];
}

/// <summary>Runs an operation with <c>c</c> workers until <c>n</c> operations have started or the duration has passed.</summary>
internal static class LoadRunner
{
    // Operations already running at the deadline may finish within this grace; then they are cancelled (and count as errors).
    private static readonly TimeSpan s_grace = TimeSpan.FromSeconds(120);

    public static async Task<LoadResult> RunAsync(Workload workload, Operation operation, int concurrency, int requests, TimeSpan duration, int firstIndex)
    {
        using var hardStop = new CancellationTokenSource(duration + s_grace);
        var latencies = new double[requests];
        var succeeded = new bool[requests];
        var errors = new List<string>();
        var errorCount = 0;
        var next = -1;
        var executed = 0;
        long bytes = 0;
        var clock = Stopwatch.StartNew();

        async Task WorkerAsync()
        {
            var buffer = new byte[1 << 20];
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= requests || clock.Elapsed >= duration)
                {
                    return;
                }

                Interlocked.Increment(ref executed);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var moved = await operation(firstIndex + i, buffer, hardStop.Token);
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    succeeded[i] = true;
                    Interlocked.Add(ref bytes, moved);
                }
                catch (Exception e) when (e is HttpRequestException or RegistryException or OperationCanceledException or IOException)
                {
                    Interlocked.Increment(ref errorCount);
                    lock (errors)
                    {
                        if (errors.Count < 5)
                        {
                            errors.Add(e.Message);
                        }
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync)));
        var seconds = clock.Elapsed.TotalSeconds;
        var sorted = latencies.Where((_, i) => succeeded[i]).Order().ToArray();
        return new LoadResult(workload.Name, workload.Unit, concurrency, executed, errorCount, seconds, bytes, sorted, errors);
    }
}

using System.Diagnostics;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.Bench.SchedulerLoad;

/// <summary>A scheduler started as a child process (Release build beside this benchmark) on a free loopback port.</summary>
internal sealed class SchedulerProcess : IAsyncDisposable
{
    private SchedulerProcess(Process process, Uri address, string dataDir)
    {
        Process = process;
        Address = address;
        DataDir = dataDir;
    }

    public Process Process { get; }

    public Uri Address { get; }

    public string DataDir { get; }

    public string AdminToken => File.ReadAllText(Path.Combine(DataDir, "admin-token")).Trim();

    public string JoinToken => File.ReadAllText(Path.Combine(DataDir, "join-token")).Trim();

    public Metadata Admin => new() { { "authorization", "Bearer " + AdminToken } };

    /// <summary>
    /// The scheduler to measure: the build beside this benchmark, or another build's <c>Berth.Scheduler.dll</c> named by
    /// <c>BERTH_BENCH_SCHEDULER</c> (before/after comparisons run the same client code against both).
    /// </summary>
    private static string SchedulerDll =>
        Environment.GetEnvironmentVariable("BERTH_BENCH_SCHEDULER") is { Length: > 0 } other ? other : Path.Combine(AppContext.BaseDirectory, "Berth.Scheduler.dll");

    /// <summary>Starts the process and waits until it answers ListClusters; returns it and the time that took.</summary>
    public static async Task<(SchedulerProcess Scheduler, TimeSpan ToServing)> StartAsync(string dataDir, bool fullSync, IEnumerable<string>? extraArguments = null)
    {
        var port = TestPorts.Next();
        var stopwatch = Stopwatch.StartNew();
        var process = ChildProcess.Start(SchedulerDll,
        [
            "--urls", $"http://127.0.0.1:{port}",
            "--data-dir", dataDir,
            "--Scheduler:FullSync", fullSync ? "true" : "false",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:Berth", "Warning",
            "--Logging:LogLevel:Berth.Scheduler.Kernel.StateKernel", "Warning",
            .. extraArguments ?? [],
        ], line => { if (line.Length > 0) { Console.WriteLine("  [scheduler] " + line.Trim()); } });
        var scheduler = new SchedulerProcess(process, new Uri($"http://127.0.0.1:{port}"), dataDir);
        using var stop = new CancellationTokenSource();
        try
        {
            // No deadline: a large state takes as long as it takes to load, and that time is the figure.
            await ChildProcess.WaitUntilReadyAsync(process, scheduler.UntilServingAsync(stop.Token), Timeout.InfiniteTimeSpan, "the scheduler to answer ListClusters");
        }
        finally
        {
            await stop.CancelAsync();
        }

        return (scheduler, stopwatch.Elapsed);
    }

    /// <summary>Completes once ListClusters answers, trying every 20 ms.</summary>
    private async Task UntilServingAsync(CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(Address);
        var clusters = new Clusters.ClustersClient(channel);
        while (true)
        {
            try
            {
                if (File.Exists(Path.Combine(DataDir, "admin-token")))
                {
                    await clusters.ListClustersAsync(new ListClustersRequest(), new CallOptions(Admin, DateTime.UtcNow.AddSeconds(30), cancellationToken));
                    return;
                }
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => ChildProcess.StopAsync(Process);
}

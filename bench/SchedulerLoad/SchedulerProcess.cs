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
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                SchedulerDll,
                "--urls", $"http://127.0.0.1:{port}",
                "--data-dir", dataDir,
                "--Scheduler:FullSync", fullSync ? "true" : "false",
                "--Logging:LogLevel:Default", "Warning",
                "--Logging:LogLevel:Berth", "Warning",
                "--Logging:LogLevel:Berth.Scheduler.Kernel.StateKernel", "Warning",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in extraArguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        var stopwatch = Stopwatch.StartNew();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { Console.WriteLine("  [scheduler] " + line.Trim()); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { Console.WriteLine("  [scheduler] " + line.Trim()); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var scheduler = new SchedulerProcess(process, new Uri($"http://127.0.0.1:{port}"), dataDir);
        using var channel = GrpcChannel.ForAddress(scheduler.Address);
        var clusters = new Clusters.ClustersClient(channel);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The scheduler exited with {process.ExitCode}.");
            }

            try
            {
                if (File.Exists(Path.Combine(dataDir, "admin-token")))
                {
                    await clusters.ListClustersAsync(new ListClustersRequest(), new CallOptions(scheduler.Admin, DateTime.UtcNow.AddSeconds(30)));
                    return (scheduler, stopwatch.Elapsed);
                }
            }
            catch (RpcException)
            {
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
    }
}

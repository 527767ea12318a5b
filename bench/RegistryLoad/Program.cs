using System.Globalization;
using System.Net;
using Berth.Bench.RegistryLoad;

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
    foreach (var name in options.Workloads)
    {
        Workload.Find(name);
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

if (options.List)
{
    foreach (var workload in Workload.All)
    {
        Console.WriteLine($"{workload.Name,-22} {workload.Description}");
    }

    return 0;
}

using var handler = new SocketsHttpHandler
{
    MaxConnectionsPerServer = options.Concurrency,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    UseProxy = false,
};
using var http = new HttpClient(handler) { BaseAddress = options.Url, Timeout = Timeout.InfiniteTimeSpan };
http.DefaultRequestHeaders.Authorization = options.Authorization;
http.DefaultRequestHeaders.UserAgent.ParseAdd("berth-registry-load/1");
var operations = new RegistryOperations(http, options.ChunkSize) { Scale = options.Scale };
using var setupTimeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

Console.WriteLine($"# {options.Url} {options.Label} c={options.Concurrency} n={options.Requests} duration={options.Duration.TotalSeconds:0}s warmup={options.WarmupCount} repos={options.RepoPrefix}/*");
Console.WriteLine($"{"workload",-22} {"ops",6} {"err",5} {"sec",6} {"ops/s",9} {"unit",4} {"MiB/s",8} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8}");
var failed = false;
foreach (var workload in options.Workloads.Select(Workload.Find))
{
    var operation = await workload.PrepareAsync(operations, options.RepoPrefix, setupTimeout.Token);
    if (options.WarmupCount > 0)
    {
        var warm = await LoadRunner.RunAsync(workload, operation, options.Concurrency, options.WarmupCount, options.Duration, firstIndex: 1_000_000_000);
        if (warm.Errors > 0)
        {
            Console.Error.WriteLine($"{workload.Name}: {warm.Errors} errors while warming up: {string.Join(" | ", warm.SampleErrors)}");
        }
    }

    var result = await LoadRunner.RunAsync(workload, operation, options.Concurrency, options.Requests, options.Duration, firstIndex: 0);
    failed |= result.Errors > 0;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{result.Workload,-22} {result.Operations,6} {result.Errors,5} {result.Seconds,6:0.0} {result.OperationsPerSecond,9:0.0} {result.Unit,4} {result.MiBPerSecond,8:0.0} {result.Percentile(0.50),8:0.00} {result.Percentile(0.90),8:0.00} {result.Percentile(0.99),8:0.00}"));
    foreach (var error in result.SampleErrors)
    {
        Console.WriteLine($"    error: {error}");
    }

    if (options.ResultsFile is not null)
    {
        await File.AppendAllTextAsync(options.ResultsFile, string.Create(CultureInfo.InvariantCulture,
            $"{options.Label}\t{result.Workload}\t{result.Concurrency}\t{result.Operations}\t{result.Errors}\t{result.Seconds:0.000}\t{result.OperationsPerSecond:0.0}\t{result.Unit}\t{result.MiBPerSecond:0.0}\t{result.Percentile(0.50):0.00}\t{result.Percentile(0.90):0.00}\t{result.Percentile(0.99):0.00}\n"));
    }
}

return failed ? 1 : 0;

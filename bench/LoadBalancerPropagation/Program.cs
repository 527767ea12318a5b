using System.Diagnostics;
using System.Globalization;
using Berth.Bench.LoadBalancerPropagation;
using Berth.Bench.SchedulerLoad;
using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = Berth.Scheduler.V1;

// Issue 16's propagation target: a registration or deregistration in the scheduler reaches every balancer replica in
// under 1 s p99, with 1,000 target groups of 10 targets churning. A real scheduler process and N real balancer
// processes (each with its own credential, data dir and listen address) over loopback gRPC; one load balancer whose
// rules forward to every group; then RegisterTargets/DeregisterTargets at a fixed rate. A sample is the time from
// sending the call to the replica's own log line saying its routing serves the change (docs/benchmarks.md).
//   dotnet run -c Release --project bench/LoadBalancerPropagation -- [--replicas 3] [--groups 1000] [--targets 10]
//       [--rate 100] [--seconds 60] [--warmup-seconds 5] [--health-checks false] [--balancer NAME=DLL ...]
var settings = Settings.Parse(args);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Machine.CpuModel()}; load average {Machine.LoadAverage()}");
Console.WriteLine($"settings: {settings with { Builds = [] }}; balancer builds: {(settings.Builds.Count == 0 ? "this" : string.Join(", ", settings.Builds.Select(b => $"{b.Name}={b.Dll}")))}");
var root = Directory.CreateTempSubdirectory("berth-lbprop-").FullName;
var replicas = new List<BalancerReplica>();
try
{
    var (scheduler, toServing) = await SchedulerProcess.StartAsync(Path.Combine(root, "scheduler"), fullSync: true);
    await using var _ = scheduler;
    Console.WriteLine($"scheduler pid {scheduler.Process.Id} serving after {toServing.TotalMilliseconds:F0} ms");
    using var channel = GrpcChannel.ForAddress(scheduler.Address);
    var lb = new V1.LoadBalancing.LoadBalancingClient(channel);
    var clusters = new Clusters.ClustersClient(channel);
    CallOptions Admin() => new(scheduler.Admin, DateTime.UtcNow.AddSeconds(60));
    var counter = 0;
    string NextTarget()
    {
        var n = Interlocked.Increment(ref counter);
        return string.Create(CultureInfo.InvariantCulture, $"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}");
    }

    var setupClock = Stopwatch.StartNew();
    var (lbArn, groups, targets) = await Setup.CreateAsync(lb, clusters, Admin, settings, NextTarget);
    Console.WriteLine($"created {groups.Count} target groups with {settings.TargetsPerGroup} targets each on load balancer {lbArn} in {setupClock.Elapsed.TotalSeconds:F1} s");

    var beside = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/LoadBalancer/bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0/Berth.LoadBalancer.dll"));
    var builds = settings.Builds.Count > 0 ? settings.Builds : [("this", beside)];
    var environment = Machine.EnvironmentFile(Path.Combine(AppContext.BaseDirectory, "../../../../../deploy/loadbalancer.env"));
    for (var i = 0; i < settings.Replicas; i++)
    {
        var credential = (await lb.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = lbArn }, Admin())).Credential;
        var dir = Directory.CreateDirectory(Path.Combine(root, $"balancer-{i}")).FullName;
        var token = Path.Combine(dir, "token");
        await File.WriteAllTextAsync(token, credential);
        var (build, dll) = builds[i % builds.Count];
        replicas.Add(BalancerReplica.Start(i, build, dll, environment, scheduler.Address, token, Path.Combine(dir, "data"), $"127.0.0.{i + 2}", groups.Count));
    }

    foreach (var replica in replicas)
    {
        await replica.WaitUntilServingAsync(TimeSpan.FromMinutes(3));
        Console.WriteLine($"{replica.Name} pid {replica.Process.Id} serves all {groups.Count} groups ({setupClock.Elapsed.TotalSeconds:F1} s)");
    }

    var churn = new Churn(lb, Admin, groups, targets, NextTarget, replicas);
    churn.Attach();
    var processes = new List<(string Name, Process Process)> { ("scheduler", scheduler.Process) };
    processes.AddRange(replicas.Select(r => (r.Name, r.Process)));
    var warmup = (int)(settings.WarmupSeconds * settings.Rate);
    var count = warmup + (int)(settings.Seconds * settings.Rate);
    Console.WriteLine($"churn: {count} operations at {settings.Rate}/s ({warmup} of warm-up, not measured); load average {Machine.LoadAverage()}");
    var loadBefore = Machine.LoadAverage();
    using var usage = new ResourceSampler(processes);
    var appliedBefore = replicas.Select(r => r.Applied).ToArray();
    var measuredStart = TimeSpan.FromSeconds(settings.WarmupSeconds);
    var windowClock = Stopwatch.StartNew();
    var run = churn.RunAsync(count, settings.Rate, warmup, k =>
    {
        if (k == warmup)
        {
            usage.Start();
            appliedBefore = [.. replicas.Select(r => r.Applied)];
        }
    });
    await run;
    var window = windowClock.Elapsed - measuredStart;
    usage.Stop();
    var appliedDuring = replicas.Select((r, i) => r.Applied - appliedBefore[i]).ToArray();
    await churn.WaitForAllAsync(TimeSpan.FromSeconds(30));
    Report.Print(settings, churn, replicas, usage, appliedDuring, window, loadBefore, Machine.LoadAverage());
    // The replicas go before the scheduler, so that they do not log its going away.
    foreach (var replica in replicas)
    {
        await replica.DisposeAsync();
    }

    replicas.Clear();
}
finally
{
    foreach (var replica in replicas)
    {
        await replica.DisposeAsync();
    }

    Directory.Delete(root, recursive: true);
}

/// <param name="Builds">
/// <c>--balancer NAME=DLL</c>, repeatable: balancer builds to run side by side against the same scheduler and churn, the
/// replicas dealt round robin (e.g. 6 replicas of two builds: 3 each); none = the build beside this benchmark.
/// </param>
internal sealed record Settings(int Replicas, int Groups, int TargetsPerGroup, double Rate, double Seconds, double WarmupSeconds, bool HealthChecks, int FirstListenerPort, IReadOnlyList<(string Name, string Dll)> Builds)
{
    public static Settings Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        double Number(string name, double fallback) => double.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        return new Settings(
            (int)Number("replicas", 3),
            (int)Number("groups", 1000),
            (int)Number("targets", 10),
            Number("rate", 100),
            Number("seconds", 60),
            Number("warmup-seconds", 5),
            bool.Parse(Get("health-checks", "false")),
            (int)Number("first-listener-port", 18080),
            [.. args.Select((a, i) => (a, i)).Where(x => x.a == "--balancer" && x.i + 1 < args.Length).Select(x => args[x.i + 1].Split('=', 2)).Select(p => (p[0], Path.GetFullPath(p[1])))]);
    }
}

internal static class Machine
{
    public static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>KEY=VALUE lines of an environment file (deploy/loadbalancer.env), comments skipped.</summary>
    public static Dictionary<string, string> EnvironmentFile(string path) => File.ReadAllLines(path)
        .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
        .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);

    /// <summary>A /proc/PID/status field in KiB (VmRSS, VmHWM), 0 once the process is gone.</summary>
    public static long StatusKiB(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.Scaling;

// The auto scaling hot paths at the issue's scale: --services services (target tracking on CPU at 50 % and memory at
// 70 %), --tasks tasks between them on --instances simulated instances. Measures (1) ingesting one stats sample of every
// task, the load every agent report interval (10 s) brings, as a share of one core; (2) one full scaling pass (every
// service's metrics read and its policies planned), the median and worst of --passes passes with the clock moving 10 s
// between them and the load changing so that services scale out and in. Last lines: "ingest core share: N %" and
// "pass median ms: N".
var services = 1_000;
var tasks = 100_000;
var instances = 10_000;
var passes = 60;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--services": services = value; break;
        case "--tasks": tasks = value; break;
        case "--instances": instances = value; break;
        case "--passes": passes = value; break;
        default: throw new ArgumentException($"Unknown option {args[i]} (use --services N --tasks N --instances N --passes N).");
    }
}

var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
Console.WriteLine($"scaling benchmark: {services:N0} services, {tasks:N0} tasks on {instances:N0} simulated instances, {passes} passes");
Console.WriteLine($"machine: {Environment.ProcessorCount} cpus, load average before: {loadBefore}");

var random = new Random(42);
var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
var serviceKeys = Enumerable.Range(0, services).Select(s => $"cluster-{s % 10}/svc-{s:D4}").ToArray();
var taskIds = Enumerable.Range(0, tasks).Select(t => $"{Guid.NewGuid():N}").ToArray();
var taskService = Enumerable.Range(0, tasks).Select(t => serviceKeys[t % services]).ToArray();
// Where each task runs only shapes the sample (its host's noise); the pass itself reads per-service sums.
var taskInstance = Enumerable.Range(0, tasks).Select(_ => random.Next(instances)).ToArray();
var instanceNoise = Enumerable.Range(0, instances).Select(_ => random.NextDouble() * 10).ToArray();

var metrics = new ServiceMetrics();
var scalings = serviceKeys.Select(_ =>
{
    var scaling = new ServiceScaling(new ScalableTarget(1, 1_000), now);
    scaling.Policies["cpu50"] = new TargetTrackingPolicy("cpu50", ScalingMetric.CpuUtilization, 50) { ScaleInCooldown = TimeSpan.FromSeconds(60), ScaleOutCooldown = TimeSpan.FromSeconds(30) };
    scaling.Policies["mem70"] = new TargetTrackingPolicy("mem70", ScalingMetric.MemoryUtilization, 70) { ScaleInCooldown = TimeSpan.FromSeconds(60) };
    return scaling;
}).ToArray();
var desired = Enumerable.Repeat(tasks / services, services).ToArray();

// Warm-up (JIT, dictionaries at size).
Ingest(0);
Pass();

var ingestTimes = new List<double>();
var ingestCpu = new List<double>();
var passTimes = new List<double>();
var changes = 0;
var process = Process.GetCurrentProcess();
for (var p = 1; p <= passes; p++)
{
    now = now.AddSeconds(10);
    process.Refresh();
    var cpuBefore = process.TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    Ingest(p);
    watch.Stop();
    process.Refresh();
    ingestTimes.Add(watch.Elapsed.TotalMilliseconds);
    ingestCpu.Add((process.TotalProcessorTime - cpuBefore).TotalMilliseconds);

    watch.Restart();
    changes += Pass();
    watch.Stop();
    passTimes.Add(watch.Elapsed.TotalMilliseconds);
}

ingestTimes.Sort();
ingestCpu.Sort();
passTimes.Sort();
var ingestMedian = ingestTimes[ingestTimes.Count / 2];
Console.WriteLine($"ingest of {tasks:N0} samples: median {ingestMedian:F1} ms wall, {ingestCpu[ingestCpu.Count / 2]:F1} ms cpu, worst {ingestTimes[^1]:F1} ms");
Console.WriteLine($"scaling activities over the run: {changes:N0}");
Console.WriteLine($"pass worst ms: {passTimes[^1]:F2}");
Console.WriteLine($"load average after: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}");
Console.WriteLine($"ingest core share: {ingestMedian / 10_000 * 100:F2} %");
Console.WriteLine($"pass median ms: {passTimes[passTimes.Count / 2]:F2}");

void Ingest(int round)
{
    // A load wave per service: a tenth of the services at a time run hot, the others idle, moving every pass.
    for (var t = 0; t < tasks; t++)
    {
        var service = t % services;
        var hot = (service + round) % 10 == 0;
        var cpu = (hot ? 90 : 20) + instanceNoise[taskInstance[t]];
        metrics.Ingest(taskIds[t], taskService[t], cpu, hot ? 60 : 30, now);
    }
}

int Pass()
{
    var changed = 0;
    for (var s = 0; s < services; s++)
    {
        var key = serviceKeys[s];
        var next = ScalingPlanner.Plan(scalings[s], desired[s], p => metrics.Read(key, p.Metric), now);
        if (next != desired[s])
        {
            desired[s] = next;
            changed++;
        }
    }

    return changed;
}

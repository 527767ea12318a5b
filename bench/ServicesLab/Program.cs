using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.V1;
using Berth.TestSupport;

// Services on real lab hosts (issue 6), measured: the real scheduler and three real agents on three lab hosts
// (LabPlatform, as in the system tests), cached images, a health check that passes at its first probe.
//   rolling: a 6-task service (spread over zones a/b/c, 100 % / 200 %) updated to the other image revision,
//            from UpdateService until 6 tasks of the new revision are healthy and the deployment is COMPLETED.
//   lost:    a host's agent and engine killed; from the kill until 6 healthy tasks run on the other hosts
//            (target: the grace period + 10 s); then the host comes back and the surplus must go.
// Needs root (network namespaces) and the Release build of the scheduler and the agent.
var reps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
var logPath = Path.Combine(Path.GetTempPath(), $"berth-bench-serviceslab-{Environment.ProcessId}.log");
await using var log = new StreamWriter(logPath) { AutoFlush = true };
void Log(string line)
{
    lock (log)
    {
        log.WriteLine(line);
    }
}

Console.WriteLine($"machine: {Environment.ProcessorCount} cores; load average {LoadAverage()}; process log {logPath}");
await using var lab = await LabPlatform.StartAsync(Log);
const string name = "bench";
string[] revisions = [await lab.RegisterHttpAsync(name, 1), await lab.RegisterHttpAsync(name, 2)];
await lab.Services.CreateServiceAsync(new CreateServiceRequest
{
    Cluster = LabPlatform.Cluster,
    ServiceName = name,
    TaskDefinition = revisions[0],
    DesiredCount = 6,
    PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
}, lab.Admin);
var clock = Stopwatch.StartNew();
await lab.WaitForSteadyAsync(name, 6);
Console.WriteLine($"create: 6 tasks healthy in {clock.Elapsed.TotalSeconds:F1} s");

for (var rep = 1; rep <= reps; rep++)
{
    var target = revisions[rep % 2];
    var cpu = SchedulerCpu(lab);
    await using var sampler = HealthySampler.Start(lab, name, Log);
    clock.Restart();
    await lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = name, TaskDefinition = target }, lab.Admin);
    var tasks = await lab.WaitForSteadyAsync(name, 6);
    var elapsed = clock.Elapsed;
    var samples = await sampler.StopAsync();
    var wrong = tasks.Count(t => t.TaskDefinitionArn != target);
    Console.WriteLine($"rolling update {rep}: {elapsed.TotalSeconds:F1} s (target < 30 s); healthy min {samples.Min()} of 6 over {samples.Count} samples; scheduler cpu {(SchedulerCpu(lab) - cpu).TotalMilliseconds:F0} ms; load {LoadAverage()}{(wrong > 0 ? $"; {wrong} tasks of the wrong revision!" : "")}");
}

foreach (var host in lab.Lab.Hosts.Take(3).Reverse().Take(Math.Min(reps, 3)))
{
    var instance = await lab.InstanceOfAsync(host);
    var on = (await lab.ServiceTasksAsync(name)).Count(t => t.ContainerInstanceArn == instance.ContainerInstanceArn);
    clock.Restart();
    await lab.KillAgentAsync(host);
    await lab.Lab.KillEngineAsync(host);
    await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(async () =>
        LabPlatform.Healthy(await lab.ServiceTasksAsync(name)).Count(t => t.ContainerInstanceArn != instance.ContainerInstanceArn) == 6,
        TimeSpan.FromSeconds(120), "replacements");
    var replaced = clock.Elapsed;

    await lab.Lab.StartEngineAsync(host);
    lab.StartAgent(host);
    await lab.WaitForConnectedAgentsAsync(3);
    await lab.WaitForSteadyAsync(name, 6);
    var running = 0;
    await Berth.TestSupport.TaskTimeouts.WaitUntilAsync(async () =>
    {
        running = (await Task.WhenAll(lab.Lab.Hosts.Select(h => lab.RunningTaskIdsAsync(h, name)))).Sum(ids => ids.Count);
        return running == 6;
    }, TimeSpan.FromSeconds(60), "six containers across the hosts");
    Console.WriteLine($"lost host h{host.Number} ({on} tasks): running elsewhere {replaced.TotalSeconds:F1} s after the kill (target < grace {LabPlatform.LostHostGrace.TotalSeconds:F0} s + 10 s); back and converged to {running} containers {clock.Elapsed.TotalSeconds:F1} s after the kill; load {LoadAverage()}");
}

await lab.DeleteServiceAsync(name);

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

// utime + stime of the scheduler process, in clock ticks of 10 ms (USER_HZ 100).
static TimeSpan SchedulerCpu(LabPlatform lab)
{
    var stat = File.ReadAllText($"/proc/{lab.SchedulerProcessId}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
}

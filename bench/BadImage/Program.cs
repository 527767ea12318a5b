using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;

// Issue 13's bad day, through real processes: the scheduler, one agent on the default engine and the registry (auth on,
// as shipped) run as their own processes (HostPlatform). A service whose image does not exist in that registry (no
// circuit breaker, desired 2) is created with the real CLI's `berth service create --wait` (its exit code and message
// are recorded) and left failing for --minutes of wall clock (default 5) under the default throttle settings. Counted
// from the scheduler's own API: task launches (every task of the service, stopped ones with their stop reason), the
// service events (the aggregated cause, the "unable to consistently start tasks successfully; retrying in ..." backoff),
// the agent's pull attempts (its "Pulling IMAGE failed" lines, and the count in the stop reasons) and the load average.
// Then UpdateService to a good image (the busybox test image): the time until running = desired, whether the backoff
// held it back, against a fresh service of the same image. The trial before the throttle: `failed 1669` in 45 s.
// Needs the Release build of the platform (dotnet build Platform.sln -c Release) and the engine at the default socket.
var minutes = 5.0;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--minutes" when i + 1 < args.Length:
            minutes = double.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]} (use --minutes N).");
            return 2;
    }
}

const string cluster = "badimage";
const string family = "badimage";
const string name = "bad";
var logPath = Path.Combine(Path.GetTempPath(), $"berth-bench-badimage-{Environment.ProcessId}.log");
await using var log = new StreamWriter(logPath) { AutoFlush = true };
var agentLines = new List<string>();
void Log(string line)
{
    lock (log)
    {
        log.WriteLine(line);
        if (line.Contains(" [agent] ", StringComparison.Ordinal))
        {
            agentLines.Add(line);
        }
    }
}

var commit = (await ProcessRunner.RunAsync("git", ["-C", LabHosts.RepositoryRoot(), "rev-parse", "--short", "HEAD"])).StandardOutput.Trim();
Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; berth: {commit}; machine: {Environment.ProcessorCount} cores; load average {LoadAverage()}");
Console.WriteLine($"process log: {logPath}");

await using var platform = await HostPlatform.StartAsync(cluster, Log, agentArguments: ["--image-pull-behavior", "PreferCached"]);
await platform.StartRegistryAsync();
var busybox = await TestImages.EnsureBusyboxAsync(log: Log);
var badImage = $"{platform.RegistryHost}/bench/missing:1";
var bad = await RegisterAsync(badImage, "");
var good = await RegisterAsync(busybox, """, "entryPoint": ["sh", "-c"], "command": ["trap 'exit 0' TERM; sleep 3600 & wait"]""");
Console.WriteLine($"bad image {badImage} ({bad}); good image {busybox} ({good}); throttle settings: the defaults (10 s doubling to 15 min, after 2 failures)");

// The CLI, as a user runs it: its own config dir, the endpoint and token from the environment.
var cliHome = Directory.CreateDirectory(Path.Combine(platform.WorkDirectory, "cli-home")).FullName;
var cliEnvironment = new Dictionary<string, string>
{
    ["BERTH_HOME"] = cliHome,
    ["BERTH_ENDPOINT"] = platform.SchedulerUrl,
    ["BERTH_TOKEN"] = platform.AdminToken,
    ["BERTH_CLUSTER"] = cluster,
};
var window = TimeSpan.FromMinutes(minutes);
var clock = Stopwatch.StartNew();
var createdAt = DateTimeOffset.UtcNow;
var cpuBefore = (Scheduler: CpuTime(platform.Scheduler.Id), Agent: CpuTime(platform.Agent.Id));
var cli = RunCliAsync(["service", "create", "--name", name, "--taskdef", bad, "--desired", "2", "--wait"]);

// Sample while the bad service runs: the load, the events (kept by id: the service lists its last 100), each wait.
var events = new Dictionary<string, ServiceEvent>(StringComparer.Ordinal);
var waits = new SortedDictionary<DateTimeOffset, (DateTimeOffset Raised, TimeSpan Wait, int Failed)>();
var loads = new List<double>();
ServiceInfo? service = null;
while (clock.Elapsed < window)
{
    loads.Add(double.Parse(LoadAverage().Split(' ')[0], CultureInfo.InvariantCulture));
    service = await TryDescribeAsync();
    if (service is not null)
    {
        Collect(service);
    }

    await Task.Delay(TimeSpan.FromSeconds(2));
}

var cpuAfter = (Scheduler: CpuTime(platform.Scheduler.Id), Agent: CpuTime(platform.Agent.Id));
var elapsed = clock.Elapsed;
service = await DescribeAsync();
Collect(service);
var tasks = await ServiceTasksAsync();
var stopped = tasks.Where(t => t.LastStatus == LifecycleStatus.Stopped).ToList();
var inRow = new Regex(@" \(pulling .+ failed (\d+) times in a row; the agent pulls it again in [^)]+\)$");
var maxInRow = stopped.Select(t => inRow.Match(t.StoppedReason)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
var pullLines = agentLines.Count(l => l.Contains($"Pulling {badImage} failed (", StringComparison.Ordinal));

Console.WriteLine();
Console.WriteLine($"== bad image, {elapsed.TotalMinutes:0.0} min of wall clock");
Console.WriteLine($"task launches: {tasks.Count} ({tasks.Count / elapsed.TotalMinutes:0.0} a minute; the trial before the throttle: 1669 failed in 45 s, about 2,200 a minute); stopped {stopped.Count}; deployment failedTasks {service.Deployments[0].FailedTasks}; running now {service.RunningCount}, pending {service.PendingCount}");
foreach (var reason in stopped.GroupBy(t => $"{t.StopCode}: {inRow.Replace(t.StoppedReason, " (pulling … failed N times in a row; …)")}").OrderByDescending(g => g.Count()))
{
    Console.WriteLine($"  {reason.Count(),4} x {reason.Key}");
}

Console.WriteLine($"agent pull attempts: {pullLines} (its 'Pulling {badImage} failed' lines); the most 'failed N times in a row' in a stop reason: {maxInRow}; launches that failed on the agent's backoff without a pull: {Math.Max(0, stopped.Count - pullLines)}");
Console.WriteLine($"throttle raised {waits.Count} times; each wait from its raise: " + string.Join(", ", waits.Values.Select(w => $"at +{(w.Raised - createdAt).TotalSeconds:0}s {w.Wait.TotalSeconds:0}s ({w.Failed} failed)")));
var ordered = events.Values.OrderBy(e => e.CreatedAt.ToDateTimeOffset()).ToList();
Console.WriteLine($"service events: {ordered.Count}; 'has started': {ordered.Count(e => e.Message.Contains(" has started ", StringComparison.Ordinal))}; aggregated cause: {ordered.Count(e => e.Message.Contains(" failed to start in the last ", StringComparison.Ordinal))}; backoff: {ordered.Count(e => e.Message.Contains("unable to consistently start tasks successfully; retrying in", StringComparison.Ordinal))}");
foreach (var e in ordered.Where(e => e.Message.Contains(" failed to start in the last ", StringComparison.Ordinal) || e.Message.Contains("unable to consistently", StringComparison.Ordinal)).TakeLast(4))
{
    Console.WriteLine($"  +{(e.CreatedAt.ToDateTimeOffset() - createdAt).TotalSeconds:0}s {e.Message}");
}

Console.WriteLine($"cpu over the window: scheduler {(cpuAfter.Scheduler - cpuBefore.Scheduler).TotalSeconds:0.0} s, agent {(cpuAfter.Agent - cpuBefore.Agent).TotalSeconds:0.0} s");
Console.WriteLine($"load average (1 min) during: min {loads.Min():0.00} mean {loads.Average():0.00} max {loads.Max():0.00}; now {LoadAverage()}");
if (cli.IsCompleted)
{
    var result = await cli;
    Console.WriteLine($"berth service create --wait: exit {result.Result.ExitCode} after {result.Elapsed.TotalSeconds:0.0} s; stderr: {result.Result.StandardError.Trim()}");
}
else
{
    Console.WriteLine("berth service create --wait: still waiting at the end of the window");
}

// A good image now: UpdateService until both tasks run, polling as fast as a client would.
var heldUntil = service.Throttle?.RetryAt?.ToDateTimeOffset();
var updateAt = DateTimeOffset.UtcNow;
clock.Restart();
await platform.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = cluster, Service = name, TaskDefinition = good }, platform.Admin);
var throttledAfter = false;
TimeSpan? running = null;
TimeSpan? steady = null;
while (steady is null && clock.Elapsed < TimeSpan.FromMinutes(3))
{
    var now = await DescribeAsync();
    Collect(now);
    throttledAfter |= now.Throttle is not null;
    var primary = now.Deployments[0];
    if (running is null && primary.TaskDefinition == good && primary.RunningCount == 2 && now.RunningCount == 2)
    {
        running = clock.Elapsed;
    }

    if (running is not null && LiveDeployments(now) == 1 && primary.RolloutState == "COMPLETED")
    {
        steady = clock.Elapsed;
    }

    await Task.Delay(100);
}

var backoffAfter = events.Values.Where(e => e.CreatedAt.ToDateTimeOffset() >= updateAt && e.Message.Contains("unable to consistently", StringComparison.Ordinal)).ToList();
Console.WriteLine();
Console.WriteLine("== good image (UpdateService)");
Console.WriteLine($"throttle at the update: {(heldUntil is { } until && until > updateAt ? $"launches held back for {(until - updateAt).TotalSeconds:0} s more" : "not holding")}");
Console.WriteLine($"UpdateService -> running 2/2: {(running is { } r ? $"{r.TotalSeconds:0.0} s" : "not within 3 min")}; steady (deployment COMPLETED): {(steady is { } s ? $"{s.TotalSeconds:0.0} s" : "not within 3 min")}; throttle seen after the update: {(throttledAfter ? "yes" : "no")}; backoff events after the update: {backoffAfter.Count}");
foreach (var e in backoffAfter)
{
    Console.WriteLine($"  {e.Message}");
}

await DeleteAsync(name);

// The same good image as a fresh service: what "at once" is on this machine now.
clock.Restart();
await platform.Services.CreateServiceAsync(new CreateServiceRequest { Cluster = cluster, ServiceName = "fresh", TaskDefinition = good, DesiredCount = 2 }, platform.Admin);
await TaskTimeouts.WaitUntilAsync(async () => (await DescribeAsync("fresh")).RunningCount == 2, TimeSpan.FromMinutes(3), "a fresh service of the good image to run");
Console.WriteLine($"fresh service of the good image -> running 2/2: {clock.Elapsed.TotalSeconds:0.0} s; load average {LoadAverage()}");
await DeleteAsync("fresh");
return 0;

void Collect(ServiceInfo described)
{
    foreach (var e in described.Events)
    {
        events.TryAdd(e.Id, e);
    }

    if (described.Throttle?.RetryAt is { } retry && !waits.ContainsKey(retry.ToDateTimeOffset()))
    {
        // The wait as the backoff event states it: from the raise (the newest backoff event) to the retry time.
        var raised = described.Events.Where(e => e.Message.Contains("unable to consistently", StringComparison.Ordinal)).Select(e => e.CreatedAt.ToDateTimeOffset()).DefaultIfEmpty(DateTimeOffset.UtcNow).Max();
        waits[retry.ToDateTimeOffset()] = (raised, retry.ToDateTimeOffset() - raised, described.Throttle.FailedTasks);
    }
}

async Task<string> RegisterAsync(string image, string command)
{
    var json = $$"""
        {"family":"{{family}}","containerDefinitions":[{"name":"app","image":"{{image}}","memory":16,"cpu":16,"essential":true,"stopTimeout":2{{command}}}]}
        """;
    var registered = await platform.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, platform.Admin);
    return registered.TaskDefinition.Arn;
}

async Task<(ProcessResult Result, TimeSpan Elapsed)> RunCliAsync(string[] arguments)
{
    var watch = Stopwatch.StartNew();
    var result = await ProcessRunner.RunAsync(platform.Binary("Cli", "berth"), arguments, TimeSpan.FromMinutes(minutes + 15), environment: cliEnvironment, log: Log);
    return (result, watch.Elapsed);
}

async Task<ServiceInfo?> TryDescribeAsync(string service = name)
{
    var described = await platform.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster, Services = { service } }, platform.Admin);
    return described.Services.FirstOrDefault();
}

async Task<ServiceInfo> DescribeAsync(string service = name) =>
    await TryDescribeAsync(service) ?? throw new InvalidOperationException($"service {service} not found");

// Every task of the service the scheduler still lists: desired RUNNING, and desired STOPPED (stopped ones stay visible
// for an hour).
async Task<List<TaskInfo>> ServiceTasksAsync(string service = name)
{
    var arns = new List<string>();
    foreach (var desired in new[] { LifecycleStatus.Running, LifecycleStatus.Stopped })
    {
        var token = "";
        do
        {
            var page = await platform.Tasks.ListTasksAsync(new ListTasksRequest { Cluster = cluster, ServiceName = service, DesiredStatus = desired, NextToken = token, MaxResults = 100 }, platform.Admin);
            arns.AddRange(page.TaskArns);
            token = page.NextToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    var described = new List<TaskInfo>();
    foreach (var chunk in arns.Distinct(StringComparer.Ordinal).Chunk(100))
    {
        described.AddRange((await platform.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = cluster, Tasks = { chunk } }, platform.Admin)).Tasks);
    }

    return described;
}

async Task DeleteAsync(string service)
{
    try
    {
        await platform.Services.DeleteServiceAsync(new DeleteServiceRequest { Cluster = cluster, Service = service, Force = true }, platform.Admin);
    }
    catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
    {
        return;
    }

    await TaskTimeouts.WaitUntilAsync(async () => (await ServiceTasksAsync(service)).All(t => t.LastStatus == LifecycleStatus.Stopped), TimeSpan.FromMinutes(2), $"the tasks of {service} to stop");
}

static int LiveDeployments(ServiceInfo described) => described.Deployments.Count(d => d.Status != "INACTIVE");

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

// utime + stime of a process, in clock ticks of 10 ms (USER_HZ 100).
static TimeSpan CpuTime(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
}

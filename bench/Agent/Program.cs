using System.Diagnostics;
using System.Globalization;
using Berth.Agent.Configuration;
using Berth.Agent.Hosting;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

// 1. Overhead: desired state received -> container running, through the agent's engine (in process, real Docker
//    engine, cached image), against the engine's own create+start of the same container.
// 2. Memory: the real agent process with the real scheduler process; RSS idle, then with N running tasks.
// 3. `--reconnect [--outage 30] [--rounds 3]`: scheduler restarts after an outage; see ReconnectBench.
if (args.Contains("--reconnect"))
{
    await ReconnectBench.RunAsync(RepositoryRoot(), Arg("--outage", 30), Arg("--rounds", 3));
    return;
}

var runs = Arg("--runs", 20);
var taskCount = Arg("--tasks", 50);
var image = await TestImages.EnsureBusyboxAsync();
var scope = "bench-" + Guid.NewGuid().ToString("N")[..8];
using var runtime = new DockerContainerRuntime(new Uri("unix:///var/run/docker.sock"));
var labels = new Dictionary<string, string> { [ContainerLabels.Agent] = scope };
string[] script = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];

try
{
    var state = Directory.CreateTempSubdirectory("berth-bench-");
    var options = Microsoft.Extensions.Options.Options.Create(new AgentOptions { SchedulerUrl = new Uri("http://127.0.0.1:1"), Scope = scope, DataDirectory = state.FullName, ImagePullBehavior = ImagePullBehavior.PreferCached });
    var images = new ImageStore(runtime, options, AgentDataDirectory.Open(options.Value.DataDirectory), TimeProvider.System, NullLogger<ImageStore>.Instance);
    var retention = AgentParts.CreateRetention(runtime, AgentParts.CreateArchive(options, TimeProvider.System), options, TimeProvider.System, NullLoggerFactory.Instance);
    var engine = AgentParts.CreateTaskEngine(runtime, images, retention, options, TimeProvider.System, NullLoggerFactory.Instance);
    using var loop = new ReconcileLoop(engine, options, TimeProvider.System);
    using var watcher = new EngineWatcher(runtime, engine, options, TimeProvider.System, NullLogger<EngineWatcher>.Instance);
    await watcher.StartAsync(CancellationToken.None);
    await loop.StartAsync(CancellationToken.None);
    await Task.Delay(1000);

    // Interleaved, so both see the same load on this shared machine: the engine's own create+start of a container,
    // then the same container through the agent (a desired set with one more task, as a session delivers it,
    // until the agent reports it RUNNING). Containers stay running until the end, for both.
    var engineTimes = new List<double>();
    var agentTimes = new List<double>();
    var desired = new List<TaskSpec>();
    for (var i = 0; i < runs; i++)
    {
        var watch = Stopwatch.StartNew();
        var id = await runtime.CreateContainerAsync(new ContainerCreateSpec { Name = $"berth-bench-raw-{scope}-{i}", Image = image, Labels = new Dictionary<string, string> { ["berth.bench"] = scope }, EntryPoint = script[..2], Command = script[2..] }, CancellationToken.None);
        await runtime.StartContainerAsync(id, CancellationToken.None);
        engineTimes.Add(watch.Elapsed.TotalMilliseconds);

        var task = new TaskSpec
        {
            TaskId = $"bench-{i}",
            Cluster = "bench",
            TaskDefinition = "bench:1",
            Containers = [new Berth.Agent.Tasks.ContainerSpec { Name = "c", Image = image, EntryPoint = script[..2], Command = script[2..] }],
        };
        desired.Add(task);
        watch.Restart();
        var changed = engine.ReportsChanged;
        engine.ApplyDesired(new DesiredTaskSet(i + 1, [.. desired]));
        while (engine.Snapshot().FirstOrDefault(r => r.TaskId == task.TaskId)?.Status != LocalStatus.Running)
        {
            await changed.WaitAsync(TimeSpan.FromSeconds(30));
            changed = engine.ReportsChanged;
        }

        agentTimes.Add(watch.Elapsed.TotalMilliseconds);
    }

    await loop.StopAsync(CancellationToken.None);
    await watcher.StopAsync(CancellationToken.None);
    state.Delete(recursive: true);
    await RemoveOursAsync();

    var enginePercentiles = Percentiles(engineTimes);
    var agentPercentiles = Percentiles(agentTimes);
    Console.WriteLine($"engine create+start ms  p50 {enginePercentiles.P50:0} p90 {enginePercentiles.P90:0}  (n={runs})");
    Console.WriteLine($"agent desired->running ms  p50 {agentPercentiles.P50:0} p90 {agentPercentiles.P90:0}  (n={runs})");
    Console.WriteLine($"agent overhead p50 ms: {agentPercentiles.P50 - enginePercentiles.P50:0}");

    await MeasureMemoryAsync();
}
finally
{
    await RemoveOursAsync();
}

async Task MeasureMemoryAsync()
{
    // The agent's own defaults otherwise (image cleanup on), so the figures compare with earlier runs.
    await using var platform = await HostPlatform.StartAsync(
        "bench",
        schedulerArguments: ["--Logging:LogLevel:Default", "Warning"],
        agentArguments: ["--image-pull-behavior", "PreferCached", "--ImageCleanup:Enabled", "true", "--Logging:LogLevel:Default", "Warning"]);
    await Task.Delay(TimeSpan.FromSeconds(15));
    var idle = RssMiB(platform.Agent.Id);
    Console.WriteLine($"agent RSS idle MiB: {idle:0.0}");

    await platform.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
    {
        TaskDefinitionJson = $$"""{"family":"bench-idle","containerDefinitions":[{"name":"c","image":"{{image}}","cpu":1,"memory":8,"entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; sleep 600 & wait"],"stopTimeout":2}]}""",
    }, platform.Admin);
    for (var placed = 0; placed < taskCount; placed += 10)
    {
        var run = await platform.Tasks.RunTaskAsync(new RunTaskRequest { Cluster = "bench", TaskDefinition = "bench-idle", Count = Math.Min(10, taskCount - placed) }, platform.Admin);
        if (run.Failures.Count > 0)
        {
            throw new InvalidOperationException($"RunTask failed: {run.Failures[0].Reason} {run.Failures[0].Detail}");
        }
    }

    var theirs = new Dictionary<string, string> { [ContainerLabels.Agent] = platform.Scope };
    await TaskTimeouts.WaitUntilAsync(async () => (await runtime.ListContainersAsync(theirs, CancellationToken.None)).Count(c => c.State == ContainerRunState.Running) == taskCount, TimeSpan.FromMinutes(5), $"{taskCount} running containers");
    await Task.Delay(TimeSpan.FromSeconds(15));
    Console.WriteLine($"agent RSS with {taskCount} running tasks MiB: {RssMiB(platform.Agent.Id):0.0}");
}

async Task RemoveOursAsync()
{
    var ours = (await runtime.ListContainersAsync(labels, CancellationToken.None))
        .Concat(await runtime.ListContainersAsync(new Dictionary<string, string> { ["berth.bench"] = scope }, CancellationToken.None));
    await Parallel.ForEachAsync(ours, async (c, ct) => await runtime.RemoveContainerAsync(c.Id, ct));
}

static string RepositoryRoot()
{
    var repo = Directory.GetCurrentDirectory();
    while (!File.Exists(Path.Combine(repo, "Platform.sln")))
    {
        repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("run from inside the repository");
    }

    return repo;
}

static double RssMiB(int pid)
{
    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}

static (double P50, double P90) Percentiles(List<double> values)
{
    var sorted = values.Order().ToList();
    return (sorted[(int)(sorted.Count * 0.5)], sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.9))]);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

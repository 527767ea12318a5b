using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.Hosting;
using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Persistence;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Services;
using Berth.Scheduler.Services.Reconcile;
using Berth.Scheduler.Sessions;
using Berth.Scheduler.TaskDefinitions;
using Berth.Scheduler.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

// Creates --services REPLICA services of --per-service tasks (and --daemons DAEMON services) on --instances simulated instances (registered, connected
// and reporting through the scheduler's own kernel, handlers and SQLite store), lets the reconciler place everything and the
// "agents" report every task RUNNING, then times --passes reconcile passes that find nothing to do. The last line is
// "idle pass: median N ms".
var instances = 1_000;
var services = 1_000;
var perService = 2;
var passes = 100;
var daemons = 0;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--instances": instances = value; break;
        case "--services": services = value; break;
        case "--per-service": perService = value; break;
        case "--passes": passes = value; break;
        case "--daemons": daemons = value; break;
        default: throw new ArgumentException($"Unknown option {args[i]} (use --instances N --services N --per-service N --daemons N --passes N).");
    }
}

Console.WriteLine($"service reconcile benchmark: {services:N0} services x {perService} tasks and {daemons} DAEMON services on {instances:N0} instances, {passes} idle passes");
Console.WriteLine($"machine: {Environment.ProcessorCount} cpus, load average before: {LoadAverage()}");
var directory = Directory.CreateTempSubdirectory("berth-bench-services-");
try
{
    await using var store = new SqliteSchedulerStore(Path.Combine(directory.FullName, "scheduler.db"), fullSync: false, NullLogger<SqliteSchedulerStore>.Instance);
    var kernel = new StateKernel(store, TimeProvider.System, new BenchLifetime(), NullLogger<StateKernel>.Instance);
    var engine = new PlacementEngine(new PlacementOptions());
    var instanceHandler = new InstanceHandler(kernel, NullLogger<InstanceHandler>.Instance);
    var agents = new AgentHandler(kernel);
    var definitions = new TaskDefinitionHandler(kernel);
    var serviceHandler = new ServiceHandler(kernel, FargatePool.Off, NullLogger<ServiceHandler>.Instance);
    var desiredStates = new DesiredStates(kernel);
    var reconciler = new ServiceReconciler(kernel, engine, FargatePool.Off, TimeProvider.System, Options.Create(new SchedulerOptions { DataDirectory = directory.FullName }), NullLogger<ServiceReconciler>.Instance);
    var taskHandler = new TaskHandler(kernel, engine, FargatePool.Off, NullLogger<TaskHandler>.Instance);
    await kernel.LoadAsync(DateTimeOffset.MinValue, CancellationToken.None);

    var setup = Stopwatch.StartNew();
    var instanceIds = new List<string>(instances);
    for (var i = 0; i < instances; i++)
    {
        var facts = new HostFacts { Hostname = $"host-{i}", Cpu = 8192, Memory = 32768, Zone = $"zone-{i % 3}", AgentVersion = "bench" };
        var registered = await instanceHandler.RegisterAsync("default", facts);
        await agents.ConnectAsync(registered.InstanceId, facts);
        instanceIds.Add(registered.InstanceId);
    }

    await definitions.RegisterAsync("""{"family":"bench","containerDefinitions":[{"name":"app","image":"registry.local/bench:1","cpu":16,"memory":64,"essential":true,"portMappings":[{"containerPort":8080,"hostPort":0}]}]}""");
    for (var s = 0; s < services; s++)
    {
        var command = new CreateServiceCommand { ServiceName = $"svc-{s:D5}", TaskDefinition = "bench", DesiredCount = perService, PlacementStrategy = [new PlacementSpec("spread", "attribute:berth.zone")] };
        await serviceHandler.CreateAsync(command, (service, _) => service.Name);
    }

    for (var d = 0; d < daemons; d++)
    {
        await serviceHandler.CreateAsync(new CreateServiceCommand { ServiceName = $"daemon-{d:D3}", TaskDefinition = "bench", SchedulingStrategy = SchedulingStrategy.Daemon }, (service, _) => service.Name);
    }

    Console.WriteLine($"setup (register, connect, create): {setup.Elapsed.TotalSeconds:F1} s");
    var placing = Stopwatch.StartNew();
    var changed = await reconciler.ReconcileAsync(CancellationToken.None);
    Console.WriteLine($"first pass: {changed} services changed, {taskHandler.Count():N0} tasks placed in {placing.Elapsed.TotalMilliseconds:F0} ms");

    // The agents report every task RUNNING, one report per instance.
    ulong sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    foreach (var id in instanceIds)
    {
        var reports = (desiredStates.BuildMessage(id, 0)?.Tasks ?? [])
            .Select(task => new TaskStatusReport { TaskId = task.TaskId, Sequence = ++sequence, LastStatus = LifecycleStatus.Running })
            .ToList();
        await agents.ApplyReportAsync(id, new AgentReport(reports, FullSnapshot: false));
    }

    // Passes until the services have written their completion and steady-state events.
    var settle = 0;
    while (await reconciler.ReconcileAsync(CancellationToken.None) > 0)
    {
        settle++;
    }

    Console.WriteLine($"settled after {settle} more passes");
    var process = Process.GetCurrentProcess();
    var walls = new List<double>(passes);
    process.Refresh();
    var cpuBefore = process.TotalProcessorTime;
    var total = Stopwatch.StartNew();
    for (var p = 0; p < passes; p++)
    {
        var pass = Stopwatch.StartNew();
        var idleChanged = await reconciler.ReconcileAsync(CancellationToken.None);
        walls.Add(pass.Elapsed.TotalMilliseconds);
        if (idleChanged != 0)
        {
            throw new InvalidOperationException($"An idle pass changed {idleChanged} services.");
        }
    }

    total.Stop();
    process.Refresh();
    var cpuPerPass = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / passes;
    walls.Sort();
    Console.WriteLine($"idle pass wall: min {walls[0]:F1} ms, p95 {walls[(int)(walls.Count * 0.95)]:F1} ms, max {walls[^1]:F1} ms");
    Console.WriteLine($"idle pass CPU (process, /proc): {cpuPerPass:F1} ms per pass; load average after: {LoadAverage()}");
    Console.WriteLine($"idle pass: median {walls[walls.Count / 2]:F1} ms");
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    directory.Delete(recursive: true);
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

/// <summary>The kernel stops the application when a commit fails; here that ends the benchmark.</summary>
internal sealed class BenchLifetime : IHostApplicationLifetime
{
    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => CancellationToken.None;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => throw new InvalidOperationException("A state commit failed.");
}

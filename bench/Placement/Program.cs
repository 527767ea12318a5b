using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.Placement;

// Places --tasks tasks onto --instances instances with spread(attribute:berth.zone), binpack(memory) and a memberOf
// constraint, in RunTask-sized requests of --batch tasks, each against the previous request's successor snapshot.
// The last line is "placements/s: N".
var instances = 10_000;
var tasks = 1_000_000;
var batch = 10;
var seed = 42;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--instances": instances = value; break;
        case "--tasks": tasks = value; break;
        case "--batch": batch = value; break;
        case "--seed": seed = value; break;
        default: throw new ArgumentException($"Unknown option {args[i]} (use --instances N --tasks N --batch N --seed N).");
    }
}

var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
Console.WriteLine($"placement benchmark: {instances:N0} instances, {tasks:N0} tasks, {batch} per request, seed {seed}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cpus, load average before: {loadBefore}");

var random = new Random(seed);
(string Type, int Cpu, int Memory, int Weight)[] types =
[
    ("m5.large", 2048, 7680, 25), ("m5.xlarge", 4096, 15360, 25), ("m5.2xlarge", 8192, 31232, 20), ("m5.4xlarge", 16384, 63488, 10),
    ("c5.xlarge", 4096, 7680, 10), ("r5.large", 2048, 15360, 10),
];
string[] zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];
var totalWeight = types.Sum(t => t.Weight);
var reserved = PortSet.Of([new HostPort(22, TransportProtocol.Tcp), new HostPort(2375, TransportProtocol.Tcp), new HostPort(51678, TransportProtocol.Tcp)]);
var views = new List<ContainerInstanceView>(instances);
for (var i = 0; i < instances; i++)
{
    var pick = random.Next(totalWeight);
    var type = types.First(t => (pick -= t.Weight) < 0);
    // Zones deliberately uneven (40/30/20/10 %), as real fleets are.
    var z = random.Next(10);
    var zone = zones[z < 4 ? 0 : z < 7 ? 1 : z < 9 ? 2 : 3];
    views.Add(new ContainerInstanceView
    {
        InstanceId = $"i-{i:x8}",
        RegisteredAt = DateTimeOffset.UnixEpoch.AddDays(19000 + (i % 300)),
        AgentVersion = "1.0.0",
        Attributes = ImmutableDictionary<string, string?>.Empty
            .Add("ecs.availability-zone", zone).Add("ecs.instance-type", type.Type).Add("ecs.os-type", "linux").Add("ecs.cpu-architecture", "x86_64"),
        RegisteredCpu = type.Cpu,
        RegisteredMemory = type.Memory,
        RemainingCpu = type.Cpu,
        RemainingMemory = type.Memory,
        UsedPorts = reserved,
    });
}

var buildClock = Stopwatch.StartNew();
var snapshot = ClusterSnapshot.Create("bench", views);
Console.WriteLine($"snapshot built in {buildClock.ElapsedMilliseconds} ms");

// Task shapes: small services; half publish one dynamic tcp port.
TaskRequirements[] shapes =
[
    new(32, 64), new(64, 128, [new PortRequest("web", 8080, 0, TransportProtocol.Tcp)]), new(16, 96), new(64, 256, [new PortRequest("api", 80, 0, TransportProtocol.Tcp)]),
    new(32, 128), new(48, 192, [new PortRequest("svc", 9000, 0, TransportProtocol.Tcp)]),
];
var strategies = new[] { PlacementStrategy.Spread("attribute:berth.zone"), PlacementStrategy.Binpack("memory") };
var constraints = new[] { PlacementConstraint.MemberOf("attribute:berth.instance-type =~ m5.*") };
var engine = new PlacementEngine(new PlacementOptions());

var placed = 0L;
var failed = 0L;
var requests = 0;
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var clock = Stopwatch.StartNew();
var lastReport = 0L;
var gen0 = GC.CollectionCount(0);
while (placed + failed < tasks)
{
    var count = (int)Math.Min(batch, tasks - placed - failed);
    var shape = shapes[requests % shapes.Length];
    var request = new PlacementRequest
    {
        Task = shape,
        Count = count,
        Group = $"service:svc-{requests % 200}",
        Strategies = strategies,
        Constraints = constraints,
        RandomSeed = requests,
    };
    var result = engine.Place(snapshot, request);
    snapshot = result.Snapshot;
    placed += result.Placements.Length;
    failed += result.Failures.Length;
    requests++;
    if (placed + failed - lastReport >= 100_000)
    {
        lastReport = placed + failed;
        Console.WriteLine(
            $"  {placed:N0} placed, {failed:N0} failed, {clock.Elapsed.TotalSeconds:F1} s, {placed / clock.Elapsed.TotalSeconds:N0}/s, heap {GC.GetTotalMemory(false) / 1048576:N0} MiB");
    }
}

clock.Stop();
var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
var rate = placed / clock.Elapsed.TotalSeconds;
var loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
var remainingMemory = snapshot.Instances.Sum(v => (long)v.RemainingMemory);
var registeredMemory = snapshot.Instances.Sum(v => (long)v.RegisteredMemory);
Console.WriteLine($"placed {placed:N0}, failed {failed:N0} in {requests:N0} requests, {clock.Elapsed.TotalSeconds:F2} s");
Console.WriteLine($"cluster memory used: {100.0 * (registeredMemory - remainingMemory) / registeredMemory:F1} %");
Console.WriteLine($"GC heap: {GC.GetTotalMemory(false) / 1048576.0:N0} MiB, working set: {Environment.WorkingSet / 1048576.0:N0} MiB, " +
    $"allocated {GC.GetTotalAllocatedBytes() / 1048576.0:N0} MiB, gen0/1/2 collections {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
Console.WriteLine($"process CPU time: {cpuSeconds:F2} s ({placed / cpuSeconds:N0} placements per CPU-second; wall clock shares 2 cores with other work)");
Console.WriteLine($"load average after: {loadAfter}");
Console.WriteLine($"placements/s: {rate.ToString("F0", CultureInfo.InvariantCulture)}");

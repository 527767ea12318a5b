using System.Collections.Concurrent;
using System.Diagnostics;
using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.Bench.SchedulerLoad;

/// <summary>RunTask through gRPC until the target number of tasks is placed, persisted and delivered to agents.</summary>
internal static class EndToEnd
{
    private const int AgentsPerChannel = 50;

    private const string Definition = """
        {"family":"bench","containerDefinitions":[{"name":"app","image":"registry.local/bench:1","cpu":10,"memory":32,"essential":true,
          "portMappings":[{"containerPort":8080,"hostPort":0}]}]}
        """;

    public static async Task RunAsync(Settings settings)
    {
        var dataDir = settings.DataDir ?? Path.Combine(Path.GetTempPath(), "berth-bench-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"== e2e: {settings.Agents} agents in {settings.Clusters} clusters, {settings.Tasks} tasks, RunTask concurrency {settings.Concurrency}, count 10 per call, strategy {settings.Strategy}, fullSync {settings.FullSync}, data dir {dataDir}");
        var (scheduler, _) = await SchedulerProcess.StartAsync(dataDir, settings.FullSync);
        await using (scheduler)
        {
            var channels = Enumerable.Range(0, (settings.Agents + AgentsPerChannel - 1) / AgentsPerChannel)
                .Select(_ => GrpcChannel.ForAddress(scheduler.Address, new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
                    MaxReceiveMessageSize = 64 * 1024 * 1024,
                }))
                .ToList();
            var latencies = new ConcurrentBag<double>();
            var delivered = 0L;
            var agents = new BenchAgent[settings.Agents];
            using var stop = new CancellationTokenSource();

            var setup = Stopwatch.StartNew();
            var join = scheduler.JoinToken;
            await Parallel.ForEachAsync(Enumerable.Range(0, settings.Agents), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            {
                var client = new AgentService.AgentServiceClient(channels[i / AgentsPerChannel]);
                var facts = new HostFacts
                {
                    Hostname = $"sim-{i}",
                    Cpu = 16 * 1024,
                    Memory = 64 * 1024,
                    AgentVersion = "bench",
                    OsType = "linux",
                    CpuArchitecture = "x86_64",
                    Zone = $"zone-{i % 3}",
                    InstanceType = "sim.4xlarge",
                };
                // Agents are dealt round the clusters; with one cluster it is "default".
                var registration = await client.RegisterAsync(new RegisterRequest { JoinToken = join, Facts = facts, Cluster = ClusterName(i, settings.Clusters) }, cancellationToken: ct);
                agents[i] = new BenchAgent(channels[i / AgentsPerChannel].CreateCallInvoker(), registration, facts, latencies, () => Interlocked.Increment(ref delivered));
                await agents[i].ConnectAsync(stop.Token);
            });
            while (agents.Any(a => !a.Ready))
            {
                await Task.Delay(50);
            }

            Console.WriteLine($"setup: {settings.Agents} agents registered and connected in {setup.Elapsed.TotalSeconds:F1} s");
            var heartbeats = Task.Run(async () =>
            {
                // Agents speak at least every heartbeat interval (10 s), or the scheduler closes their sessions.
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stop.Token).ContinueWith(_ => { });
                    foreach (var agent in agents)
                    {
                        await agent.HeartbeatAsync();
                    }
                }
            });

            var admin = new CallOptions(scheduler.Admin);
            var tasksClient = new Tasks.TasksClient(channels[0]);
            await new TaskDefinitions.TaskDefinitionsClient(channels[0]).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Definition }, admin);

            var strategies = settings.Strategy switch
            {
                // Each call's 10 tasks land on 10 instances: 10 pushes of a growing set per call (the costly case).
                "spread" => new[] { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" }, new PlacementStrategy { Type = "spread", Field = "instanceId" } },
                // Each call's 10 tasks fill one instance: one push per call.
                "binpack" => [new PlacementStrategy { Type = "binpack", Field = "memory" }],
                _ => throw new ArgumentException("--strategy must be spread or binpack"),
            };
            var schedulerCpuBefore = Machine.CpuSeconds(scheduler.Process);
            var benchCpuBefore = Machine.CpuSeconds(Process.GetCurrentProcess());
            var requested = 0L;
            var placed = 0L;
            var failures = 0L;
            var callLatencies = new ConcurrentBag<double>();
            var run = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, settings.Concurrency).Select(w => Task.Run(async () =>
            {
                var client = new Tasks.TasksClient(channels[w % channels.Count]);
                while (Interlocked.Add(ref requested, 10) <= settings.Tasks)
                {
                    var started = Stopwatch.GetTimestamp();
                    var response = await client.RunTaskAsync(new RunTaskRequest
                    {
                        Cluster = ClusterName(w, settings.Clusters),
                        TaskDefinition = "bench",
                        Count = 10,
                        PlacementStrategy = { strategies },
                    }, admin);
                    callLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Interlocked.Add(ref placed, response.Tasks.Count);
                    Interlocked.Add(ref failures, response.Failures.Count);
                }
            })).ToList();
            await Task.WhenAll(workers);
            var placedAt = run.Elapsed;
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref delivered) < Interlocked.Read(ref placed) && deadline.Elapsed < TimeSpan.FromSeconds(120))
            {
                await Task.Delay(5);
            }

            var deliveredAt = run.Elapsed;
            var schedulerCpu = Machine.CpuSeconds(scheduler.Process) - schedulerCpuBefore;
            var benchCpu = Machine.CpuSeconds(Process.GetCurrentProcess()) - benchCpuBefore;
            var (rss, peak) = Machine.Memory(scheduler.Process);
            await stop.CancelAsync();
            await heartbeats;

            var sorted = latencies.Order().ToArray();
            var calls = callLatencies.Order().ToArray();
            Console.WriteLine($"placed: {placed} tasks ({failures} failures) in {placedAt.TotalSeconds:F2} s; delivered: {Interlocked.Read(ref delivered)} in {deliveredAt.TotalSeconds:F2} s");
            Console.WriteLine($"RunTask (count 10) latency ms: p50 {Percentile(calls, 0.50):F1}, p99 {Percentile(calls, 0.99):F1}");
            Console.WriteLine($"delivery latency ms (placement to agent's session): p50 {Percentile(sorted, 0.50):F1}, p99 {Percentile(sorted, 0.99):F1}, max {sorted.LastOrDefault():F1}");
            Console.WriteLine($"scheduler RSS: {rss:F0} MiB (peak {peak:F0} MiB); load average {Machine.LoadAverage()}");
            Console.WriteLine($"CPU used during the run: scheduler {schedulerCpu:F1} s ({placed / schedulerCpu:F0} tasks per scheduler CPU-second), simulated agents and clients {benchCpu:F1} s, wall {deliveredAt.TotalSeconds:F1} s on 2 shared cores");
            Console.WriteLine($"tasks/s: {placed / deliveredAt.TotalSeconds:F0}");
            foreach (var agent in agents)
            {
                agent.Dispose();
            }

            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }

        if (settings.DataDir is null)
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>The cluster of agent (or RunTask caller) <paramref name="i"/>.</summary>
    public static string ClusterName(int i, int clusters) => clusters <= 1 ? "default" : $"bench-{i % clusters}";

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    /// <summary>A simulated agent: one real Session stream; records when each task first reaches it.</summary>
    private sealed class BenchAgent(CallInvoker invoker, RegisterResponse registration, HostFacts facts, ConcurrentBag<double> latencies, Action delivered)
        : SimulatedAgentSession(invoker, registration, facts)
    {
        private readonly HashSet<Guid> _seen = [];

        public bool Ready { get; private set; }

        protected override async Task OnMessageAsync(byte[] message)
        {
            var now = DateTimeOffset.UtcNow;
            var version = DesiredStateScanner.Scan(message, _seen, task =>
            {
                latencies.Add((now - task.CreatedAt.ToDateTimeOffset()).TotalMilliseconds);
                delivered();
            });
            if (version is not { } v)
            {
                return;
            }

            Ready = true;
            // Level-triggered: acknowledging the version is all an agent must say about a desired state.
            await SendAsync(new AgentMessage { DesiredStateAck = new DesiredStateAck { Version = v } });
        }
    }
}

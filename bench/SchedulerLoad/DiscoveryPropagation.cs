using System.Collections.Concurrent;
using System.Diagnostics;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// Service discovery propagation (issue 17: every resolver within 1 s p99): a scheduler process, N simulated agents on
/// real Session streams, one awsvpc service with a task per agent. Each round one agent reports its task RUNNING at a
/// new address; the time until every agent's session has delivered a desired state whose <c>web.default</c> A record
/// holds that address is one sample per agent. The agents parse every push fully, as the real agent does.
/// </summary>
internal static class DiscoveryPropagation
{
    private const string Definition = """
        {"family":"web","networkMode":"awsvpc","cpu":"64","memory":"64",
         "containerDefinitions":[{"name":"app","image":"registry.local/web:1","portMappings":[{"containerPort":8080}]}]}
        """;

    /// <summary>Agents registering at once (Churn's bound): enough to join 1,000 well inside the silence limit.</summary>
    private const int RegisterBatch = 32;

    public static async Task RunAsync(Settings settings, int rounds)
    {
        var dataDir = settings.DataDir ?? Path.Combine(Path.GetTempPath(), "berth-bench-discovery-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"== discovery: {settings.Agents} agents, one service with a task on each, {rounds} rounds, fullSync {settings.FullSync}");
        // Every agent needs a task subnet for its awsvpc task: the default /24s of a /16 hold 256 hosts, /27s hold 2,048.
        var (scheduler, _) = await SchedulerProcess.StartAsync(dataDir, settings.FullSync, ["--Scheduler:Awsvpc:HostSubnetPrefixLength", settings.Agents > 256 ? "27" : "24"]);
        await using (scheduler)
        {
            // More than one HTTP/2 connection: the server allows 100 streams on one, and every agent keeps a session open.
            using var channel = GrpcChannel.ForAddress(scheduler.Address, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
                MaxReceiveMessageSize = 64 * 1024 * 1024,
            });
            using var stop = new CancellationTokenSource();
            var admin = new CallOptions(scheduler.Admin);
            // Registered and connected concurrently, a bounded batch at a time: one after the other, 500 agents took longer
            // than the scheduler's silence limit (three heartbeat intervals), and the first ones were closed before the last
            // had connected. Each agent then heartbeats on its own, as the real agent does.
            var agents = new Agent[settings.Agents];
            var joined = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, settings.Agents), new ParallelOptions { MaxDegreeOfParallelism = RegisterBatch }, async (i, ct) =>
            {
                var facts = new HostFacts { Hostname = $"sim-{i}", Cpu = 4096, Memory = 8192, AgentVersion = "bench", OsType = "linux", CpuArchitecture = "x86_64" };
                var registration = await new AgentService.AgentServiceClient(channel).RegisterAsync(new RegisterRequest { JoinToken = scheduler.JoinToken, Facts = facts }, cancellationToken: ct);
                var agent = new Agent(channel.CreateCallInvoker(), registration);
                await agent.ConnectAsync(facts, stop.Token);
                agents[i] = agent;
            });
            Console.WriteLine($"{settings.Agents} agents registered and connected in {joined.Elapsed.TotalSeconds:F1} s");

            await new TaskDefinitions.TaskDefinitionsClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Definition }, admin);
            await new Services.ServicesClient(channel).CreateServiceAsync(new CreateServiceRequest
            {
                ServiceName = "web",
                TaskDefinition = "web",
                DesiredCount = settings.Agents,
                PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
            }, admin);
            while (agents.Any(a => a.TaskId is null))
            {
                await Task.Delay(20);
            }

            var samples = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var owner = agents[round % agents.Length];
                // A fresh address per round, so that each round changes the record set.
                var address = $"10.240.{round / 250}.{(round % 250) + 2}";
                var sent = Stopwatch.GetTimestamp();
                await owner.ReportRunningAsync(address);
                foreach (var agent in agents)
                {
                    samples.Add((await agent.WaitForAddressAsync(address, sent)).TotalMilliseconds);
                }
            }

            stop.Cancel();
            samples.Sort();
            double P(double q) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(q * samples.Count) - 1)];
            Console.WriteLine($"propagation to every agent ({samples.Count} samples): p50 {P(0.5):F1} ms, p90 {P(0.9):F1} ms, p99 {P(0.99):F1} ms, max {samples[^1]:F1} ms; load average {Machine.LoadAverage()}");
            foreach (var agent in agents)
            {
                agent.Dispose();
            }
        }
    }

    /// <summary>
    /// A simulated agent: acknowledges every desired state, notes when each address first appears in the records, and
    /// heartbeats as the real agent does (src/Agent/Sessions/SessionClient: every interval the scheduler's
    /// SessionAccepted gives, 10 s until then, with the desired-state version it holds).
    /// </summary>
    private sealed class Agent(CallInvoker invoker, RegisterResponse registration) : IDisposable
    {
        private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _write = new(1, 1);
        private AsyncDuplexStreamingCall<AgentMessage, SchedulerMessage>? _call;
        private ulong _sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        private readonly PeriodicTimer _heartbeat = new(TimeSpan.FromSeconds(10));
        private long _desiredVersion;

        public string? TaskId { get; private set; }

        public async Task ConnectAsync(HostFacts facts, CancellationToken cancellationToken)
        {
            _call = new AgentService.AgentServiceClient(invoker).Session(new Metadata { { "authorization", "Bearer " + registration.InstanceCredential } }, cancellationToken: cancellationToken);
            await SendAsync(new AgentMessage { Hello = new Hello { ContainerInstanceId = registration.ContainerInstanceId, Facts = facts } });
            await SendAsync(new AgentMessage { StateReport = new StateReport { FullSnapshot = true } });
            _ = Task.Run(() => ReadAsync(cancellationToken), CancellationToken.None);
            _ = Task.Run(() => HeartbeatAsync(cancellationToken), CancellationToken.None);
        }

        private async Task HeartbeatAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (await _heartbeat.WaitForNextTickAsync(cancellationToken))
                {
                    await SendAsync(new AgentMessage { Heartbeat = new Heartbeat { SentAt = Timestamp.FromDateTime(DateTime.UtcNow), DesiredVersion = Interlocked.Read(ref _desiredVersion) } });
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
            {
                // The run is over, or the session ended (the waits then time out and say so).
            }
        }

        public Task ReportRunningAsync(string address)
        {
            var report = new TaskReport
            {
                TaskId = TaskId!,
                Sequence = Interlocked.Increment(ref _sequence),
                LastStatus = LifecycleStatus.Running,
                StartedAt = Timestamp.FromDateTime(DateTime.UtcNow),
                NetworkAttachment = new TaskNetworkAttachment { Ipv4Address = address },
            };
            return SendAsync(new AgentMessage { StateReport = new StateReport { Tasks = { report } } });
        }

        public async Task<TimeSpan> WaitForAddressAsync(string address, long sent)
        {
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 30;
            while (!_seen.ContainsKey(address))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"agent {registration.ContainerInstanceId} never saw {address}");
                }

                await Task.Delay(1);
            }

            return Stopwatch.GetElapsedTime(sent, _seen[address]);
        }

        private async Task ReadAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var message in _call!.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (message.SessionAccepted is { HeartbeatIntervalMs: > 0 } accepted)
                    {
                        _heartbeat.Period = TimeSpan.FromMilliseconds(accepted.HeartbeatIntervalMs);
                    }

                    if (message.DesiredState is not { } desired)
                    {
                        continue;
                    }

                    TaskId ??= desired.Tasks.FirstOrDefault()?.TaskId;
                    foreach (var record in desired.ServiceDiscovery?.Records ?? [])
                    {
                        foreach (var a in record.Addresses)
                        {
                            _seen.TryAdd(a, now);
                        }
                    }

                    Interlocked.Exchange(ref _desiredVersion, desired.Version);
                    await SendAsync(new AgentMessage { DesiredStateAck = new DesiredStateAck { Version = desired.Version } });
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                // The run is over (or the scheduler went away; the waits then time out and say so).
            }
        }

        private async Task SendAsync(AgentMessage message)
        {
            await _write.WaitAsync();
            try
            {
                await _call!.RequestStream.WriteAsync(message);
            }
            finally
            {
                _write.Release();
            }
        }

        public void Dispose()
        {
            _heartbeat.Dispose();
            _call?.Dispose();
            _write.Dispose();
        }
    }
}

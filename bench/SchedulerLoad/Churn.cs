using System.Diagnostics;
using System.Globalization;
using Berth.Scheduler.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// Task lifetimes through the real scheduler process: callers run tasks (RunTask, 10 per call); each simulated agent
/// reports every new task of its desired state STOPPED (its essential container exited), which ends the task and takes
/// it out of the set. The scheduler runs with short retention settings, so STOPPED tasks leave memory and their rows
/// leave the database while the run goes on: RSS and the database size must level off, and the throughput hold.
/// </summary>
internal static class Churn
{
    private const int AgentsPerChannel = 50;
    private const string Definition = """{"family":"churn","containerDefinitions":[{"name":"app","image":"registry.local/churn:1","cpu":10,"memory":32,"essential":true}]}""";

    public static async Task RunAsync(Settings settings)
    {
        var dataDir = settings.DataDir ?? Path.Combine(Path.GetTempPath(), "berth-bench-churn-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"== churn: {settings.Lifetimes:N0} task lifetimes through {settings.Agents} agents in {settings.Clusters} clusters, RunTask concurrency {settings.Concurrency}, " +
            $"visibility {settings.Visibility}, row retention {settings.RowRetention}, fullSync {settings.FullSync}, data dir {dataDir}");
        var retention = new[]
        {
            "--Scheduler:Retention:Visibility", settings.Visibility.ToString("c", CultureInfo.InvariantCulture),
            "--Scheduler:Retention:RowRetention", settings.RowRetention.ToString("c", CultureInfo.InvariantCulture),
            "--Scheduler:Retention:Interval", "00:00:02",
        };
        var (scheduler, _) = await SchedulerProcess.StartAsync(dataDir, settings.FullSync, retention);
        await using (scheduler)
        {
            var channels = Enumerable.Range(0, (settings.Agents + AgentsPerChannel - 1) / AgentsPerChannel)
                .Select(_ => GrpcChannel.ForAddress(scheduler.Address, new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
                    MaxReceiveMessageSize = 64 * 1024 * 1024,
                }))
                .ToList();
            using var stop = new CancellationTokenSource();
            var stopped = 0L;
            var agents = new ChurnAgent[settings.Agents];
            await Parallel.ForEachAsync(Enumerable.Range(0, settings.Agents), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            {
                var client = new AgentService.AgentServiceClient(channels[i / AgentsPerChannel]);
                var facts = new HostFacts { Hostname = $"churn-{i}", Cpu = 16 * 1024, Memory = 64 * 1024, AgentVersion = "bench", Zone = $"zone-{i % 3}" };
                var registration = await client.RegisterAsync(new RegisterRequest { JoinToken = scheduler.JoinToken, Facts = facts, Cluster = EndToEnd.ClusterName(i, settings.Clusters) }, cancellationToken: ct);
                agents[i] = new ChurnAgent(channels[i / AgentsPerChannel].CreateCallInvoker(), registration, facts, n => Interlocked.Add(ref stopped, n));
                await agents[i].ConnectAsync(stop.Token);
            });
            var heartbeats = Task.Run(async () =>
            {
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
            await new TaskDefinitions.TaskDefinitionsClient(channels[0]).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = Definition }, admin);
            var database = Path.Combine(dataDir, "scheduler.db");
            var requested = 0L;
            var run = Stopwatch.StartNew();
            var cpuBefore = Machine.CpuSeconds(scheduler.Process);
            var workers = Enumerable.Range(0, settings.Concurrency).Select(w => Task.Run(async () =>
            {
                var tasks = new Tasks.TasksClient(channels[w % channels.Count]);
                while (Interlocked.Add(ref requested, 10) <= settings.Lifetimes)
                {
                    // A caller never runs far ahead of the agents: at most 2,000 tasks alive at a time per caller.
                    while (Interlocked.Read(ref requested) - Interlocked.Read(ref stopped) > 2_000L * settings.Concurrency)
                    {
                        await Task.Delay(1);
                    }

                    await tasks.RunTaskAsync(new RunTaskRequest { Cluster = EndToEnd.ClusterName(w, settings.Clusters), TaskDefinition = "churn", Count = 10 }, admin);
                }
            })).ToList();

            Console.WriteLine("elapsed s | lifetimes | lifetimes/s (last window) | scheduler RSS MiB | database MiB (db + wal) | scheduler CPU s | load average");
            var last = (At: TimeSpan.Zero, Done: 0L);
            var all = Task.WhenAll(workers);
            while (true)
            {
                var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10))) == all;
                var done = Interlocked.Read(ref stopped);
                var now = run.Elapsed;
                var (rss, _) = Machine.Memory(scheduler.Process);
                var size = (Size(database) + Size(database + "-wal")) / (1024.0 * 1024);
                Console.WriteLine($"{now.TotalSeconds,9:F0} | {done,9:N0} | {(done - last.Done) / (now - last.At).TotalSeconds,9:F0} | {rss,6:F0} | {size,8:F1} | {Machine.CpuSeconds(scheduler.Process) - cpuBefore,7:F1} | {Machine.LoadAverage()}");
                last = (now, done);
                if (finished)
                {
                    await all;
                    break;
                }
            }

            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref stopped) < settings.Lifetimes && deadline.Elapsed < TimeSpan.FromSeconds(120))
            {
                await Task.Delay(20);
            }

            var total = run.Elapsed;
            var cpu = Machine.CpuSeconds(scheduler.Process) - cpuBefore;
            var lifetimes = Interlocked.Read(ref stopped);
            var (finalRss, peak) = Machine.Memory(scheduler.Process);
            Console.WriteLine($"lifetimes: {lifetimes:N0} in {total.TotalSeconds:F1} s ({lifetimes / total.TotalSeconds:F0}/s); scheduler CPU {cpu:F1} s ({cpu * 1e6 / Math.Max(1, lifetimes):F0} µs per lifetime); " +
                $"RSS {finalRss:F0} MiB (peak {peak:F0} MiB); database {(Size(database) + Size(database + "-wal")) / (1024.0 * 1024):F1} MiB; load average {Machine.LoadAverage()}");
            await stop.CancelAsync();
            await heartbeats;
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

    private static long Size(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>A simulated agent whose every task exits as soon as it arrives.</summary>
    private sealed class ChurnAgent(CallInvoker invoker, RegisterResponse registration, HostFacts facts, Action<int> stopped)
        : SimulatedAgentSession(invoker, registration, facts)
    {
        private HashSet<Guid> _reported = [];
        private ulong _sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

        protected override async Task OnMessageAsync(byte[] message)
        {
            var present = new HashSet<Guid>();
            if (DesiredStateScanner.ScanIds(message, present) is not { } version)
            {
                return;
            }

            // Every task of the set not reported yet exits now; tasks no longer in the set are done with.
            var report = new StateReport();
            foreach (var id in present)
            {
                if (!_reported.Contains(id))
                {
                    report.Tasks.Add(new TaskReport { TaskId = id.ToString("N"), Sequence = ++_sequence, LastStatus = LifecycleStatus.Stopped, StopCode = StopCode.EssentialContainerExited });
                }
            }

            present.IntersectWith(_reported);
            foreach (var task in report.Tasks)
            {
                present.Add(Guid.ParseExact(task.TaskId, "N"));
            }

            _reported = present;
            await SendAsync(new AgentMessage { DesiredStateAck = new DesiredStateAck { Version = version } });
            if (report.Tasks.Count > 0)
            {
                await SendAsync(new AgentMessage { StateReport = report });
                stopped(report.Tasks.Count);
            }
        }
    }
}

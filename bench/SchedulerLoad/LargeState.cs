using System.Diagnostics;
using System.Security.Cryptography;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// Writes a large state (instances and task records, as the scheduler itself writes them, through its own store) and
/// starts a scheduler on it: how long until it serves, and how much memory it holds.
/// </summary>
internal static class LargeState
{
    private const string Definition = """{"family":"bench","containerDefinitions":[{"name":"app","image":"registry.local/bench:1","cpu":10,"memory":32,"essential":true,"portMappings":[{"containerPort":8080,"hostPort":0}]}]}""";

    public static async Task RunAsync(Settings settings)
    {
        var dataDir = settings.DataDir ?? Path.Combine(Path.GetTempPath(), "berth-bench-state-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        Console.WriteLine($"== state: {settings.Instances} instances, {settings.Records} task records, data dir {dataDir}");
        var database = Path.Combine(dataDir, "scheduler.db");
        if (File.Exists(database))
        {
            Console.WriteLine("reusing the state already in the data dir");
        }
        else
        {
            var write = Stopwatch.StartNew();
            await WriteAsync(database, settings);
            Console.WriteLine($"written in {write.Elapsed.TotalSeconds:F1} s; database {new FileInfo(database).Length / (1024.0 * 1024):F0} MiB");
        }

        var (scheduler, toServing) = await SchedulerProcess.StartAsync(dataDir, fullSync: true);
        await using (scheduler)
        {
            var (rssServing, _) = Machine.Memory(scheduler.Process);
            var cpuServing = Machine.CpuSeconds(scheduler.Process);
            using var channel = GrpcChannel.ForAddress(scheduler.Address);
            var admin = new CallOptions(scheduler.Admin);
            var tasks = new Tasks.TasksClient(channel);
            var instanceIds = (await new ContainerInstances.ContainerInstancesClient(channel).ListContainerInstancesAsync(new ListContainerInstancesRequest { MaxResults = 2 }, admin)).ContainerInstanceArns;
            var list = await tasks.ListTasksAsync(new ListTasksRequest { ContainerInstance = instanceIds[^1], MaxResults = 100 }, admin);
            var probe = Stopwatch.StartNew();
            var instances = await new ContainerInstances.ContainerInstancesClient(channel).DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { instanceIds[0] } }, admin);
            Console.WriteLine($"check: instance {instanceIds[^1]} lists {list.TaskArns.Count} running tasks; remaining memory of the first instance {instances.ContainerInstances[0].RemainingResources.Memory} MiB (describe {probe.Elapsed.TotalMilliseconds:F1} ms)");
            await Task.Delay(TimeSpan.FromSeconds(3));
            GC.KeepAlive(list);
            var (rss, peak) = Machine.Memory(scheduler.Process);
            Console.WriteLine($"restart to serving: {toServing.TotalSeconds:F2} s wall, {cpuServing:F1} s of scheduler CPU until then (2 shared cores)");
            Console.WriteLine($"scheduler RSS with {settings.Instances} instances and {settings.Records} task records: {rss:F0} MiB at rest (at first answer {rssServing:F0} MiB, peak {peak:F0} MiB); load average {Machine.LoadAverage()}");
        }

        if (settings.DataDir is null)
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task WriteAsync(string databasePath, Settings settings)
    {
        await using var store = new SqliteSchedulerStore(databasePath, fullSync: false, NullLogger<SqliteSchedulerStore>.Instance);
        await store.MigrateAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var first = new ChangeSet();
        first.Clusters.Add(new ClusterRow { Name = "default", Status = "ACTIVE", CreatedAtMs = now.ToUnixTimeMilliseconds() });
        first.TaskDefinitions.Add(new TaskDefinitionRow { Family = "bench", Revision = 1, Status = "ACTIVE", Json = Definition, RegisteredAtMs = now.ToUnixTimeMilliseconds() });
        var instanceIds = new List<string>();
        for (var i = 0; i < settings.Instances; i++)
        {
            var id = Guid.NewGuid().ToString("N");
            instanceIds.Add(id);
            var facts = new HostFacts { Hostname = $"host-{i}", Cpu = 16 * 1024, Memory = 64 * 1024, AgentVersion = "bench", OsType = "linux", CpuArchitecture = "x86_64", Zone = $"zone-{i % 3}", InstanceType = "sim.4xlarge" };
            first.Instances.Add(new InstanceRow { Id = id, Cluster = "default", Status = 1, CredentialHash = SHA256.HashData(Guid.NewGuid().ToByteArray()), RegisteredAtMs = now.ToUnixTimeMilliseconds(), DesiredSeq = i + 1, Facts = facts.ToByteArray(), CustomAttributes = "{}"u8.ToArray() });
        }

        await store.CommitAsync(first, CancellationToken.None);
        var perInstance = Math.Max(1, settings.Records / settings.Instances);
        var batch = new ChangeSet();
        var seq = (long)settings.Instances;
        for (var r = 0; r < settings.Records; r++)
        {
            var instance = instanceIds[r / perInstance % instanceIds.Count];
            var slot = r % perInstance;
            // One in five records is a stopped task (history); the rest run and hold resources and a port.
            var stopped = slot % 5 == 4;
            var hostPort = 49153 + slot;
            var info = new TaskInfo
            {
                TaskId = Guid.NewGuid().ToString("N"),
                Cluster = "default",
                TaskDefinitionArn = "arn:berth:ecs:local:task-definition/bench:1",
                ContainerInstanceId = instance,
                DesiredStatus = stopped ? LifecycleStatus.Stopped : LifecycleStatus.Running,
                LastStatus = stopped ? LifecycleStatus.Stopped : LifecycleStatus.Running,
                Group = "family:bench",
                LaunchType = "EC2",
                Cpu = 10,
                Memory = 32,
                CreatedAt = Timestamp.FromDateTimeOffset(now),
                StartedAt = Timestamp.FromDateTimeOffset(now),
                Version = 3,
                StopCode = stopped ? StopCode.EssentialContainerExited : StopCode.Unspecified,
                StoppedReason = stopped ? "Essential container in task exited" : "",
                StoppedAt = stopped ? Timestamp.FromDateTimeOffset(now) : null,
            };
            info.Containers.Add(new Container
            {
                Name = "app",
                Image = "registry.local/bench:1",
                Essential = true,
                LastStatus = info.LastStatus,
                RuntimeId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                NetworkBindings = { new NetworkBinding { ContainerPort = 8080, HostPort = hostPort, Protocol = "tcp" } },
            });
            if (stopped)
            {
                info.Containers[0].ExitCode = 1;
            }

            batch.Tasks.Add(new TaskRow
            {
                Id = info.TaskId,
                Cluster = "default",
                InstanceId = instance,
                DesiredStatus = (int)info.DesiredStatus,
                LastStatus = (int)info.LastStatus,
                DesiredSeq = ++seq,
                AgentSequence = r,
                Ports = $"app|8080|{hostPort}|tcp",
                Info = info.ToByteArray(),
            });
            if (batch.Tasks.Count == 20_000)
            {
                await store.CommitAsync(batch, CancellationToken.None);
                batch = new ChangeSet();
            }
        }

        await store.CommitAsync(batch, CancellationToken.None);
    }
}

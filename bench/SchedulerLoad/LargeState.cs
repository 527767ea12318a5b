using System.Diagnostics;
using System.Security.Cryptography;
using Berth.Scheduler.Persistence;
using Berth.Scheduler.V1;
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
        await store.OpenAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var first = new SqliteSchedulerStore.RowSet();
        first.Clusters.Add(new ClusterRow { Name = "default", Status = "ACTIVE", CreatedAtMs = now.ToUnixTimeMilliseconds() });
        first.TaskDefinitions.Add(new TaskDefinitionRow { Family = "bench", Revision = 1, Status = "ACTIVE", Json = Definition, RegisteredAtMs = now.ToUnixTimeMilliseconds() });
        var instanceIds = new List<string>();
        for (var i = 0; i < settings.Instances; i++)
        {
            var id = Guid.NewGuid().ToString("N");
            instanceIds.Add(id);
            var facts = new HostFactsDocument { Hostname = $"host-{i}", Cpu = 16 * 1024, Memory = 64 * 1024, AgentVersion = "bench", OsType = "linux", CpuArchitecture = "x86_64", Zone = $"zone-{i % 3}", InstanceType = "sim.4xlarge" };
            first.Instances.Add(new InstanceRow
            {
                Id = id,
                Cluster = "default",
                Status = 1,
                CredentialHash = SHA256.HashData(Guid.NewGuid().ToByteArray()),
                RegisteredAtMs = now.ToUnixTimeMilliseconds(),
                DesiredSeq = i + 1,
                HostFacts = StoredDocuments.Encode(facts),
                CustomAttributes = "{}"u8.ToArray(),
            });
        }

        await store.WriteRowsAsync(first);
        var perInstance = Math.Max(1, settings.Records / settings.Instances);
        var batch = new SqliteSchedulerStore.RowSet();
        var seq = (long)settings.Instances;
        for (var r = 0; r < settings.Records; r++)
        {
            var instance = instanceIds[r / perInstance % instanceIds.Count];
            var slot = r % perInstance;
            // One in five records is a stopped task (history); the rest run and hold resources and a port.
            var stopped = slot % 5 == 4;
            var hostPort = 49153 + slot;
            var details = new TaskDetailsDocument
            {
                LaunchType = "EC2",
                CreatedAt = now,
                StartedAt = now,
                Version = 3,
                StopCode = stopped ? 2 : 0,
                StoppedReason = stopped ? "Essential container in task exited" : null,
                Containers =
                [
                    new ContainerDocument
                    {
                        Name = "app",
                        Image = "registry.local/bench:1",
                        Essential = true,
                        LastStatus = stopped ? 8 : 4,
                        ExitCode = stopped ? 1 : null,
                        RuntimeId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                        NetworkBindings = [new BindingDocument { ContainerPort = 8080, HostPort = hostPort, Protocol = "tcp" }],
                    },
                ],
            };
            batch.Tasks.Add(new TaskRow
            {
                Id = Guid.NewGuid().ToString("N"),
                Cluster = "default",
                InstanceId = instance,
                DesiredStatus = stopped ? 8 : 4,
                LastStatus = stopped ? 8 : 4,
                DesiredSeq = ++seq,
                AgentSequence = r,
                Ports = $"app|8080|{hostPort}|tcp",
                TaskDefinitionArn = "arn:berth:ecs:local:task-definition/bench:1",
                GroupName = "family:bench",
                Cpu = 10,
                Memory = 32,
                StoppedAtMs = stopped ? now.ToUnixTimeMilliseconds() : null,
                Details = StoredDocuments.Encode(details),
            });
            if (batch.Tasks.Count == 20_000)
            {
                await store.WriteRowsAsync(batch);
                batch = new SqliteSchedulerStore.RowSet();
            }
        }

        await store.WriteRowsAsync(batch);
    }
}

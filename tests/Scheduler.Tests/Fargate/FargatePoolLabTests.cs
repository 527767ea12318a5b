using System.Diagnostics;
using Berth.Scheduler.Tests.Provisioning;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.Scheduler.Tests.Fargate.FargateLab;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>
/// Issue 17's FARGATE pool with real hosts: the real scheduler process with the lab provisioner and no instance of the
/// user's. A FARGATE service's tasks wait in PROVISIONING while the pool makes a lab host (namespace, dockerd, agent),
/// then run there with awsvpc addresses under the product's default runtime (gVisor where installed); a task reaches
/// the service by its discovery name; scaled to 0, the pool retires its host after a short idle timeout and nothing is
/// left. Prints the start times the issue sets targets for (15 s with a host to make, 2 s p50 on a warm host).
/// </summary>
[Trait("Category", "System")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FargatePoolLabTests(ITestOutputHelper output)
{
    private const string Service = "web";

    // The service discovery name: `<service>.<namespace>`, the namespace being the cluster's name (docs/scheduler.md).
    private const string DiscoveryName = Service + ".default";

    // Five tasks of 256 CPU units besides the service's two fit the pool's one host (2048 units here).
    private const int WarmRuns = 5;

    [Fact]
    public async Task AFargateService_MakesAPoolHost_RunsWithAddresses_IsReachedByName_AndThePoolGoesBackToZero()
    {
        var lab = await LabProvisionerFixture.StartAsync(output.WriteLine, schedulerProvisions: true, schedulerSettings: PoolSettings());
        try
        {
            // No lab host exists before the pool makes one: the machine's own engine pushes the image through loopback, and
            // the pool's hosts pull it through the lab's root leg (their engines trust the lab's addresses over plain HTTP).
            await using var registry = await DistributionRegistry.StartAsync(output.WriteLine, lab.RootAddress, loopbackToo: true);
            var image = (await registry.PushAsync(engine: null, "lab/fargate:1")).Reference;

            // The cluster, with its awsvpc task CIDR from the scheduler's pool, and not one instance.
            await lab.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, lab.Admin);
            Assert.Empty(await lab.InstancesAsync(includeFargate: true));
            var definition = $$"""
                {"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
                 "containerDefinitions":[{"name":"app","image":"{{image}}","essential":true,"stopTimeout":2,
                   "portMappings":[{"containerPort":8080}],"entryPoint":["sh","-c"],
                   "command":["trap 'exit 0' TERM; while true; do echo hello-from-web | nc -l -p 8080; done & wait"]}]}
                """;
            await lab.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = definition }, lab.Admin);

            // The pool is made by the cluster's first FARGATE task; until then the provider is MISSING.
            Assert.Null(await PoolAsync(lab));

            var created = Stopwatch.StartNew();
            await lab.Services.CreateServiceAsync(new CreateServiceRequest { ServiceName = Service, TaskDefinition = "web", DesiredCount = 2, LaunchType = "FARGATE" }, lab.Admin);

            // No host has room: both tasks wait in PROVISIONING for the pool, which makes a host.
            var waiting = await WaitForTasksAsync(lab, ts => ts.Count == 2, "the service's two tasks");
            Assert.All(waiting, t => Assert.Equal(("FARGATE", "FARGATE"), (t.LaunchType, t.CapacityProviderName)));
            Assert.Contains(waiting, t => t.LastStatus == LifecycleStatus.Provisioning && t.ProvisioningReason.StartsWith("Waiting for capacity from capacity provider 'FARGATE'", StringComparison.Ordinal));
            lab.Log("tasks wait in PROVISIONING");

            var running = await WaitForTasksAsync(lab, ts => ts.Count == 2 && ts.All(t => t.LastStatus == LifecycleStatus.Running && Address(t).Length > 0), "both tasks running with addresses");
            var toRunning = created.Elapsed;
            lab.Log($"CreateService -> both tasks RUNNING with a host made by the lab provisioner: {toRunning.TotalSeconds:0.0} s; per task (createdAt -> startedAt): {string.Join(", ", running.Select(t => $"{(t.StartedAt.ToDateTime() - t.CreatedAt.ToDateTime()).TotalSeconds:0.0} s"))}");

            // They run on the pool's hosts, which the user's instance list does not show, with addresses of those hosts'
            // task subnets, under gVisor when the engine has it (the product's default for FARGATE tasks).
            var pool = (await PoolAsync(lab))!;
            // One host: both tasks fit it, and the pool does not ask for a second while the first's agent connects.
            var poolHosts = pool.Hosts.ToList();
            Assert.Equal(("InService", 1), (Assert.Single(poolHosts).LifecycleState, pool.DesiredCapacity));
            Assert.All(running, t => Assert.Contains(t.ContainerInstanceArn, poolHosts.Select(h => h.ContainerInstanceArn)));
            Assert.Empty(await lab.InstancesAsync());
            var instances = await lab.InstancesAsync(includeFargate: true);
            Assert.Equal(poolHosts.Select(h => h.ContainerInstanceArn).Order(), instances.Select(i => i.ContainerInstanceArn).Order());
            Assert.All(instances, i => Assert.Contains(i.Attributes, a => a.Name == "berth.fargate-pool" && a.Value == "true"));
            Assert.Equal(2, running.Select(Address).Distinct().Count());
            Assert.All(running, t => Assert.StartsWith("10.", Address(t), StringComparison.Ordinal));
            var hostOf = running.ToDictionary(t => t.TaskArn, t => lab.DockerHostOf(poolHosts.Single(h => h.ContainerInstanceArn == t.ContainerInstanceArn).Name));
            var runtimes = new List<string>();
            foreach (var task in running)
            {
                runtimes.Add((await DockerAsync("-H", hostOf[task.TaskArn], "inspect", "--format", "{{.HostConfig.Runtime}}", RuntimeId(task))).EnsureSuccess("docker inspect").StandardOutput.Trim());
            }

            var expectedRuntime = File.Exists("/usr/bin/runsc") ? "runsc" : "runc";
            Assert.All(runtimes, r => Assert.Equal(expectedRuntime, r));
            lab.Log($"{poolHosts.Count} pool host(s): {string.Join(", ", poolHosts.Select(h => h.Name))}; task addresses {string.Join(", ", running.Select(Address))}; runtime {runtimes[0]}");

            // One task reaches the other: the service's name answers both addresses in either task's resolver (its host's DNS
            // server), and a connection to the other's address is served.
            var (first, second) = (running[0], running[1]);
            var lookup = new ProcessResult(1, "", "");
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                lookup = await ExecAsync(hostOf[first.TaskArn], first, $"busybox nslookup {DiscoveryName}");
                return running.All(t => lookup.StandardOutput.Contains(Address(t), StringComparison.Ordinal));
            }, TimeSpan.FromSeconds(30), $"{DiscoveryName} to answer both tasks' addresses inside the first task");
            Assert.Equal("hello-from-web", await ConnectAsync(hostOf[first.TaskArn], first, Address(second)));
            lab.Log($"{DiscoveryName} resolves to both tasks inside a task; the first reaches the second at {Address(second)}");

            // FARGATE tasks run one after another on the now warm pool host (image cached) are RUNNING quickly (the issue's
            // target: 2 s p50), and the first of them, a task apart from the service, reaches it by name.
            var tasks = lab.Tasks;
            var warm = new List<TaskInfo>();
            var warmTimes = new List<TimeSpan>();
            for (var i = 0; i < WarmRuns; i++)
            {
                var started = Stopwatch.StartNew();
                var run = (await tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", LaunchType = "FARGATE", Count = 1 }, lab.Admin)).Tasks.Single();
                warm.Add(await WaitForTaskAsync(lab, run.TaskArn, t => t.LastStatus == LifecycleStatus.Running && Address(t).Length > 0, "a warm RunTask to run"));
                warmTimes.Add(started.Elapsed);
            }

            var p50 = warmTimes.Order().ElementAt(WarmRuns / 2);
            lab.Log($"RunTask on the warm pool host -> RUNNING, {WarmRuns} in a row: {string.Join(", ", warmTimes.Select(t => $"{t.TotalSeconds:0.00}"))} s (p50 {p50.TotalSeconds:0.00} s); createdAt -> startedAt {string.Join(", ", warm.Select(t => $"{(t.StartedAt.ToDateTime() - t.CreatedAt.ToDateTime()).TotalSeconds:0.00}"))} s");
            Assert.All(warm, t => Assert.Contains(t.ContainerInstanceArn, poolHosts.Select(h => h.ContainerInstanceArn)));
            var client = warm[0];
            var clientHost = lab.DockerHostOf(poolHosts.Single(h => h.ContainerInstanceArn == client.ContainerInstanceArn).Name);
            var reply = "";
            await TaskTimeouts.WaitUntilAsync(async () => (reply = await ConnectAsync(clientHost, client, DiscoveryName)).Length > 0, TimeSpan.FromSeconds(30), $"the client task to reach {DiscoveryName}");
            Assert.Equal("hello-from-web", reply);
            lab.Log($"a task run apart reaches the service as {DiscoveryName}");
            foreach (var task in warm)
            {
                await tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn, Reason = "done" }, lab.Admin);
            }

            // Scaled to 0 (and the tasks run apart stopped), the pool has spare hosts for the idle timeout and retires them: nothing is
            // left on the machine, and their container instances are INACTIVE.
            var scaledIn = Stopwatch.StartNew();
            await lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Service = Service, DesiredCount = 0 }, lab.Admin);
            await TaskTimeouts.WaitUntilAsync(async () => await PoolAsync(lab) is { DesiredCapacity: 0, Hosts.Count: 0 }, TimeSpan.FromMinutes(3), "the pool to go back to 0 hosts");
            lab.Log($"scale to 0 -> pool at 0 hosts: {scaledIn.Elapsed.TotalSeconds:0.0} s (idle timeout 5 s)");
            Assert.Empty(await lab.Provisioner().ListAsync(CancellationToken.None).WithTimeout());
            Assert.Equal("[]", (await lab.HostScriptAsync("list")).EnsureSuccess("host.sh list").StandardOutput.Trim());
            var inactive = await lab.InstancesAsync("INACTIVE", includeFargate: true);
            Assert.Equal(instances.Select(i => i.ContainerInstanceArn).Order(), inactive.Select(i => i.ContainerInstanceArn).Order());
            Assert.Empty(await lab.InstancesAsync(includeFargate: true));
            Assert.Contains((await PoolAsync(lab))!.Activities, a => a.Description.StartsWith("Terminating host: ", StringComparison.Ordinal) && a.StatusCode == "Successful");
            lab.Log("done");
        }
        finally
        {
            await lab.DisposeAsync();
        }
    }

    private static string RuntimeId(TaskInfo task) => task.Containers.Single(c => c.Name == "app").RuntimeId;

    private static Task<ProcessResult> ExecAsync(string engine, TaskInfo task, string command) =>
        DockerAsync("-H", engine, "exec", RuntimeId(task), "sh", "-c", command);

    /// <summary>What a TCP connection from the task to <paramref name="address"/>:8080 reads (empty: no connection).</summary>
    private static async Task<string> ConnectAsync(string engine, TaskInfo from, string address) =>
        (await ExecAsync(engine, from, $"nc -w 2 {address} 8080 </dev/null")).StandardOutput.Trim();

    /// <summary>The FARGATE provider's pool; null while the provider is MISSING (before the cluster's first FARGATE task).</summary>
    private static async Task<V1.FargatePool?> PoolAsync(LabProvisionerFixture lab)
    {
        var answer = await lab.CapacityProviders.DescribeCapacityProvidersAsync(
            new DescribeCapacityProvidersRequest { CapacityProviders = { "FARGATE" } }, lab.Admin);
        return answer.CapacityProviders.SingleOrDefault()?.FargatePool;
    }

    private static Task<List<TaskInfo>> WaitForTasksAsync(LabProvisionerFixture lab, Func<List<TaskInfo>, bool> condition, string what) =>
        lab.WaitForServiceTasksAsync(Service, condition, TimeSpan.FromMinutes(3), what);

    private static async Task<TaskInfo> WaitForTaskAsync(LabProvisionerFixture lab, string arn, Func<TaskInfo, bool> condition, string what)
    {
        TaskInfo task = null!;
        await TaskTimeouts.WaitUntilAsync(async () => condition(task = (await lab.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arn } }, lab.Admin)).Tasks.Single()), TimeSpan.FromMinutes(1), what);
        return task;
    }
}

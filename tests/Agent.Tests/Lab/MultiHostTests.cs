using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// The platform across hosts: the scheduler in the root namespace on the lab's root leg, one agent process inside
/// each lab host's namespace driving that host's own engine, a registry on the root leg; tasks spread over the hosts
/// pull their image from it and reach each other.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class MultiHostTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SchedulerSpreadsTasksOverTwoLabHosts_AndTheyReachEachOtherByHostAddressAndPort()
    {
        await using var lab = await LabHosts.StartAsync(2, output.WriteLine);
        var work = Directory.CreateTempSubdirectory("berth-multihost-");
        var processes = new List<ServiceProcess>();
        try
        {
            // A registry on the root leg; the image reaches it from host 1 (lab engines trust 10.231.0.0/16 over plain HTTP).
            // Host 2 never has it until its agent pulls it.
            await using var registry = await DistributionRegistry.StartAsync(output.WriteLine, lab.RootAddress);
            var (h1, h2) = (lab.Hosts[0], lab.Hosts[1]);
            var image = (await registry.PushAsync(h1.DockerHost, "lab/echo:1")).Reference;
            var port = 7150 + Random.Shared.Next(0, 40);
            var data = Path.Combine(work.FullName, "scheduler");
            processes.Add(ServiceProcess.Start("scheduler", LabPlatform.Binary("Scheduler", "Berth.Scheduler.dll"), ["--urls", $"http://{lab.RootAddress}:{port}", "--data-dir", data, "--Scheduler:HeartbeatInterval", "00:00:01"], output.WriteLine));
            var tokens = await SchedulerTokens.ReadAsync(data, TimeSpan.FromSeconds(60));
            var admin = new Metadata { { "authorization", "Bearer " + tokens.Admin } };
            var config = Path.Combine(work.FullName, "agent.json");
            await File.WriteAllTextAsync(config, "{}");

            foreach (var host in lab.Hosts)
            {
                // nsenter execs the agent: the process is the agent, inside the host's network namespace.
                processes.Add(ServiceProcess.Start($"agent-h{host.Number}", "nsenter",
                [
                    $"--net=/var/run/netns/{host.Namespace}", LabPlatform.Binary("Agent", "Berth.Agent"),
                    "--config", config, "--scheduler-url", $"http://{lab.RootAddress}:{port}", "--join-token", tokens.Join,
                    "--cluster", "lab", "--zone", $"zone-{host.Number}", "--docker-endpoint", host.DockerHost,
                    "--data-dir", Path.Combine(work.FullName, $"agent-h{host.Number}"), "--scope", "lab", "--image-pull-behavior", "Always",
                    "--ReservedMemory", "0", "--ImageCleanup:Enabled", "false", "--Cgroups:Parent", $"/{host.Namespace}/berth", "--TaskCleanup:Wait", "00:00:00",
                ], output.WriteLine));
            }

            using var channel = GrpcChannel.ForAddress($"http://{lab.RootAddress}:{port}");
            var instances = new ContainerInstances.ContainerInstancesClient(channel);
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                try
                {
                    var list = await instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = "lab" }, admin);
                    return list.ContainerInstanceArns.Count == 2
                        && (await instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "lab", ContainerInstances = { list.ContainerInstanceArns } }, admin)).ContainerInstances.All(i => i.AgentConnected);
                }
                catch (RpcException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), "both agents to connect");

            await new TaskDefinitions.TaskDefinitionsClient(channel).RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest
            {
                TaskDefinitionJson = $$"""
                    {"family":"lab-echo","containerDefinitions":[{"name":"echo","image":"{{image}}","memory":32,
                      "portMappings":[{"containerPort":8080}],"entryPoint":["sh","-c"],"stopTimeout":2,
                      "command":["trap 'exit 0' TERM; while true; do hostname | nc -l -p 8080; done & wait"]}]}
                    """,
            }, admin);
            var tasks = new Berth.Scheduler.V1.Tasks.TasksClient(channel);
            var run = await tasks.RunTaskAsync(new RunTaskRequest
            {
                Cluster = "lab",
                TaskDefinition = "lab-echo",
                Count = 2,
                PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
            }, admin);
            Assert.Empty(run.Failures);
            Assert.NotEqual(run.Tasks[0].ContainerInstanceId, run.Tasks[1].ContainerInstanceId);

            List<TaskInfo> running = [];
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                running = [.. (await tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = "lab", Tasks = { run.Tasks.Select(t => t.TaskId) } }, admin)).Tasks];
                return running.Count == 2 && running.All(t => t.LastStatus == LifecycleStatus.Running && t.Containers[0].NetworkBindings.Count > 0);
            }, TimeSpan.FromSeconds(60), "both tasks to run");

            // Each engine runs exactly one of them.
            foreach (var host in lab.Hosts)
            {
                var names = (await lab.DockerAsync(host, "ps", "--filter", "label=berth.agent=lab", "--format", "{{.Names}}")).EnsureSuccess("docker ps").StandardOutput;
                Assert.Single(names.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }

            // A container on host 1 reaches the task on host 2 at host 2's address and the host port the agent reported.
            var h2Instance = (await instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { Cluster = "lab", ContainerInstances = { running.Select(t => t.ContainerInstanceArn) } }, admin))
                .ContainerInstances.Single(i => i.Attributes.Any(a => a.Name == "berth.zone" && a.Value == "zone-2"));
            var onH2 = running.Single(t => t.ContainerInstanceArn == h2Instance.ContainerInstanceArn);
            var hostPort = onH2.Containers[0].NetworkBindings[0].HostPort;
            (await lab.DockerAsync(h2, "image", "inspect", image)).EnsureSuccess("the image pulled on h2");
            ProcessResult reply = new(1, "", "");
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                reply = await lab.DockerAsync(h1, "run", "--rm", TestImages.Busybox, "sh", "-c", $"nc -w 3 {h2.Address} {hostPort} </dev/null");
                return reply.StandardOutput.Trim().Length > 0;
            }, TimeSpan.FromSeconds(30), "h1 to reach the task on h2");
            Assert.Equal(onH2.Containers[0].RuntimeId[..12], reply.StandardOutput.Trim());
        }
        finally
        {
            foreach (var p in processes)
            {
                await p.DisposeAsync();
            }

            work.Delete(recursive: true);
        }
    }
}

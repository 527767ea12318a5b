using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Sessions;

/// <summary>
/// The agent process against the real scheduler process over a real gRPC channel, on the real engine: the
/// ECS flow end to end, then the faults (kill -9 of the agent, scheduler restart) and a stop.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class AgentWithSchedulerTests(EngineFixture engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly LocalPlatform _platform = new(engine, output);

    [Fact]
    public async Task RunTask_RunsOnTheAgent_SurvivesAgentKillAndSchedulerRestart_AndStops()
    {
        var scheduler = _platform.StartScheduler();
        await _platform.ReadTokensAsync();
        var agent = _platform.StartAgent();
        var instance = await _platform.WaitForInstanceAsync(i => i.AgentConnected);
        Assert.Equal(Environment.ProcessorCount * 1024, instance.RegisteredResources.Cpu);
        output.WriteLine($"instance {instance.ContainerInstanceId} connected");

        await _platform.RegisterAsync($$"""
            {"family":"e2e-web","containerDefinitions":[{"name":"web","image":"{{engine.Image}}","cpu":128,"memory":64,
              "portMappings":[{"containerPort":8080}],"entryPoint":["sh","-c"],"stopTimeout":5,
              "command":["trap 'exit 0' TERM; while true; do echo hello-e2e | nc -l -p 8080; done & wait"]}]}
            """);
        var taskId = await _platform.RunAsync("e2e-web");

        var running = await _platform.WaitForTaskAsync(taskId, t => t.LastStatus == LifecycleStatus.Running && t.Containers.Count == 1 && t.Containers[0].NetworkBindings.Count > 0);
        var hostPort = running.Containers[0].NetworkBindings[0].HostPort;
        var containerId = running.Containers[0].RuntimeId;
        Assert.Equal("hello-e2e", await ReadLineAsync(hostPort));

        // kill -9 the agent while the task runs; a new agent process resumes as the same instance and adopts.
        await agent.KillAsync();
        agent = _platform.StartAgent(withJoinToken: false);
        await _platform.WaitForInstanceAsync(i => i.AgentConnected && i.ContainerInstanceId == instance.ContainerInstanceId);
        await Task.Delay(3000);
        var ours = await engine.Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _platform.Scope }, CancellationToken.None);
        Assert.Equal(containerId, Assert.Single(ours).Id);
        Assert.Equal(ContainerRunState.Running, ours[0].State);
        var listed = await _platform.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = LocalPlatform.Cluster }, _platform.Admin);
        Assert.Single(listed.ContainerInstanceArns);

        // Scheduler restart: the agent reconnects by itself; the task keeps running throughout.
        await scheduler.StopAsync();
        await Task.Delay(1000);
        scheduler = _platform.StartScheduler();
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                await new Clusters.ClustersClient(_platform.Channel).ListClustersAsync(new ListClustersRequest(), _platform.Admin);
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the scheduler to serve again");
        var restarted = Stopwatch.StartNew();
        await _platform.WaitForInstanceAsync(i => i.AgentConnected, TimeSpan.FromSeconds(30));
        output.WriteLine($"agent reconnected {restarted.ElapsedMilliseconds} ms after the scheduler served again");

        // The port probe cuts the backoff short within about 2 s of the port opening; the target (5 s) is a benchmark
        // figure (bench/Agent --reconnect), this bound leaves room for a loaded machine.
        Assert.True(restarted.Elapsed < TimeSpan.FromSeconds(9), $"reconnect took {restarted.Elapsed}");
        Assert.Equal(ContainerRunState.Running, (await engine.Runtime.InspectContainerAsync(containerId, CancellationToken.None))!.State);
        Assert.Equal(LifecycleStatus.Running, (await _platform.WaitForTaskAsync(taskId, _ => true)).LastStatus);

        // StopTask: SIGTERM, the container exits 0, the task is reported STOPPED with the user's reason.
        await _platform.Tasks.StopTaskAsync(new StopTaskRequest { Cluster = LocalPlatform.Cluster, Task = taskId, Reason = "e2e done" }, _platform.Admin);
        var stopped = await _platform.WaitForTaskAsync(taskId, t => t.LastStatus == LifecycleStatus.Stopped);
        Assert.Equal(0, stopped.Containers[0].ExitCode);
        Assert.Equal(StopCode.UserInitiated, stopped.StopCode);

        // Once the scheduler has the STOPPED report it drops the task from the desired set; the agent then removes the container.
        await TaskTimeouts.WaitUntilAsync(async () => await engine.Runtime.InspectContainerAsync(containerId, CancellationToken.None) is null, TimeSpan.FromSeconds(30), "the stopped task's container to be removed");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _platform.StopAsync();

    private static async Task<string> ReadLineAsync(int port)
    {
        string line = string.Empty;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                using var reader = new StreamReader(client.GetStream());
                line = (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(2))) ?? string.Empty;
                return line.Length > 0;
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), $"port {port.ToString(CultureInfo.InvariantCulture)} to answer");
        return line;
    }
}

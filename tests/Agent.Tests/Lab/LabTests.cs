using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Tasks;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>The multi-host lab (network namespaces, an engine each) and the agent against an engine it may restart.</summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class LabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoHosts_EachRunContainers_ThatReachEachOtherAcrossTheBridge()
    {
        string[] namespaces;
        await using (var lab = await LabHosts.StartAsync(2, output.WriteLine))
        {
            var (h1, h2) = (lab.Hosts[0], lab.Hosts[1]);
            namespaces = [h1.Namespace, h2.Namespace];
            await Task.WhenAll(TestImages.EnsureBusyboxAsync(h1.DockerHost, output.WriteLine), TestImages.EnsureBusyboxAsync(h2.DockerHost, output.WriteLine));
            Assert.NotEqual(h1.Address, h2.Address);

            (await lab.DockerAsync(h2, "run", "-d", "--name", "listener", "-p", "8080:8080", TestImages.Busybox,
                "sh", "-c", "trap 'exit 0' TERM; while true; do echo hello-from-h2 | nc -l -p 8080; done & wait")).EnsureSuccess("docker run on h2");

            // A container on h1, through h1's engine's NAT, the lab bridge, and h2's published port.
            ProcessResult reply = new(1, "", "");
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                reply = await lab.DockerAsync(h1, "run", "--rm", TestImages.Busybox, "sh", "-c", $"nc -w 3 {h2.Address} 8080 </dev/null");
                return reply.StandardOutput.Contains("hello-from-h2", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(30), "h1 to reach h2");

            // The engines are separate: h1 does not have h2's container.
            Assert.DoesNotContain("listener", (await lab.DockerAsync(h1, "ps", "-a", "--format", "{{.Names}}")).StandardOutput, StringComparison.Ordinal);

            // The root namespace reaches the hosts on its leg (where a scheduler or registry would listen).
            var ping = await ProcessRunner.RunAsync("bash", ["-c", $"exec 3<>/dev/tcp/{h2.Address}/8080 && head -c 13 <&3"], TimeSpan.FromSeconds(10));
            Assert.Equal("hello-from-h2", ping.StandardOutput.Trim());
        }

        var left = (await ProcessRunner.RunAsync("ip", ["netns", "list"])).StandardOutput;
        Assert.All(namespaces, ns => Assert.DoesNotContain(ns, left, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DockerdRestart_AgentNotices_Reconciles_AndReportsTheDeadTaskStopped()
    {
        await using var lab = await LabHosts.StartAsync(1, output.WriteLine);
        var host = lab.Hosts[0];
        await TestImages.EnsureBusyboxAsync(host.DockerHost, output.WriteLine);
        using var runtime = new DockerContainerRuntime(new Uri(host.DockerHost));
        var state = Directory.CreateTempSubdirectory("berth-agent-state-");
        try
        {
            await using var agent = new AgentHarness(runtime, "lab", state.FullName, output);
            await agent.StartAsync();
            var task = new TaskSpec
            {
                TaskId = "restart-1",
                Cluster = "default",
                TaskDefinition = "fam:1",
                Containers = [new ContainerSpec { Name = "web", Image = TestImages.Busybox, EntryPoint = ["sh", "-c"], Command = ["trap 'exit 0' TERM; sleep 300 & wait"] }],
            };
            agent.Engine.ApplyDesired(new DesiredTaskSet(1, [task]));
            await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Running);

            await lab.StopEngineAsync(host);
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!agent.Engine.EngineAvailable), TimeSpan.FromSeconds(20), "the agent to notice the engine is gone");
            await lab.StartEngineAsync(host);
            var report = await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Stopped, TimeSpan.FromSeconds(40));

            output.WriteLine(AgentHarness.Describe(report));
            Assert.True(agent.Engine.EngineAvailable);
            Assert.Equal(TaskStopCode.EssentialContainerExited, report.StopCode);
            Assert.StartsWith("DockerEngineRestarted", report.Containers[0].Reason, StringComparison.Ordinal);
            Assert.NotNull(report.Containers[0].ExitCode);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }
}

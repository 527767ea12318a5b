using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Tasks;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Isolation;

/// <summary>Task-level cpu and memory as one cgroup per task, against the real engine and the kernel's OOM killer.</summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class TaskCgroupSystemTests(EngineFixture engine, ITestOutputHelper output) : IDisposable
{
    private readonly string _scope = "cg-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");

    private string Parent => $"/berth-test-{_scope}";

    [Fact]
    public async Task MemoryHog_IsKilledAtTheTasksLimit_AndTheTaskStopsWithEcsReason_WhileItsSiblingIsNotBlamed()
    {
        await using var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output, configure: o => o.Cgroups.Parent = Parent);
        await agent.StartAsync();
        var task = new TaskSpec
        {
            TaskId = "hog-" + Guid.NewGuid().ToString("N")[..8],
            Cluster = "default",
            TaskDefinition = "hog:1",
            CpuLimit = 512,
            MemoryLimit = 64,
            Containers =
            [
                Container("steady", "trap 'exit 0' TERM; sleep 300 & wait", essential: false),

                // One 200 MiB buffer, touched as dd reads into it: far above the task's 64 MiB, though the container
                // itself has no limit. dd is the container's main process (exec), so the kill is its exit.
                Container("hog", "exec dd if=/dev/zero of=/dev/null bs=200M count=1") with { DependsOn = [("steady", DependencyCondition.Start)] },
            ],
        };

        agent.Engine.ApplyDesired(new DesiredTaskSet(1, [task]));
        var report = await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Stopped, TimeSpan.FromSeconds(60));

        output.WriteLine(AgentHarness.Describe(report));
        Assert.Equal(TaskStopCode.EssentialContainerExited, report.StopCode);
        Assert.Equal("OutOfMemoryError: Container killed due to memory usage", report.StoppedReason);
        var hog = report.Containers.Single(c => c.Name == "hog");
        Assert.Equal((137, "OutOfMemoryError: Container killed due to memory usage"), (hog.ExitCode, hog.Reason));
        var steady = report.Containers.Single(c => c.Name == "steady");
        Assert.Equal(0, steady.ExitCode);
        Assert.Null(steady.Reason);

        // Both containers sat below the task's cgroup, which carries the task's limits.
        var cgroup = $"{Parent}/task-{task.TaskId}";
        foreach (var c in report.Containers)
        {
            var parent = await ProcessRunner.RunAsync("docker", ["inspect", "--format", "{{.HostConfig.CgroupParent}}", c.RuntimeId!]);
            Assert.Equal(cgroup, parent.StandardOutput.Trim());
        }

        Assert.Equal((64L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText($"/sys/fs/cgroup/memory{cgroup}/memory.limit_in_bytes").Trim());
        Assert.Equal("50000", File.ReadAllText($"/sys/fs/cgroup/cpu{cgroup}/cpu.cfs_quota_us").Trim());
        Assert.Equal("512", File.ReadAllText($"/sys/fs/cgroup/cpu{cgroup}/cpu.shares").Trim());

        // Forgotten with the task: containers removed, then the cgroup.
        agent.Engine.ApplyDesired(new DesiredTaskSet(2, []));
        await TaskTimeouts.WaitUntilAsync(async () => (await agent.ContainersAsync()).Count == 0 && !Directory.Exists($"/sys/fs/cgroup/memory{cgroup}"), TimeSpan.FromSeconds(30), "the task's containers and cgroup to go");
    }

    public void Dispose()
    {
        using var runtime = new DockerContainerRuntime(new Uri("unix:///var/run/docker.sock"));
        foreach (var c in runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _scope }, CancellationToken.None).GetAwaiter().GetResult())
        {
            runtime.RemoveContainerAsync(c.Id, CancellationToken.None).GetAwaiter().GetResult();
        }

        // Deepest first: the task cgroups (if a failed test left one), then the parent, in every controller.
        foreach (var controller in Directory.EnumerateDirectories("/sys/fs/cgroup"))
        {
            var parent = Path.Combine(controller, Parent.TrimStart('/'));
            if (Directory.Exists(parent))
            {
                foreach (var child in Directory.EnumerateDirectories(parent, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
                {
                    Directory.Delete(child, recursive: false);
                }

                Directory.Delete(parent, recursive: false);
            }
        }

        _state.Delete(recursive: true);
    }

    private ContainerSpec Container(string name, string script, bool essential = true) => new()
    {
        Name = name,
        Image = engine.Image,
        Essential = essential,
        EntryPoint = ["sh", "-c"],
        Command = [script],
        StopTimeout = TimeSpan.FromSeconds(2),
    };
}

using Berth.Agent.Isolation;
using Berth.Agent.Runtime;
using Berth.Agent.Stats;
using Berth.Agent.Tasks;
using Berth.Agent.Tests.Tasks;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Stats;

/// <summary>
/// The task stats sampler against the real engine: a task burning CPU (<c>yes &gt;/dev/null</c>) and an idle one, read from
/// the task's cgroup, from the container's cgroup, and from the engine's one-shot stats.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class TaskStatsSamplerSystemTests(EngineFixture engine, ITestOutputHelper output) : IDisposable
{
    private readonly string _scope = "st-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");

    private string Parent => $"/berth-test-{_scope}";

    [Fact]
    public async Task BusyTask_ReportsCpuUnitsFromItsCgroup_AndFromTheEngine_IdleTaskReportsLittle()
    {
        await using var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output, configure: o => o.Cgroups.Parent = Parent);
        await agent.StartAsync();
        // The burner has task-level limits (its own cgroup, one core at most); the idle task has none (its container sits
        // under the engine's default /docker parent).
        var busy = new TaskSpec
        {
            TaskId = "busy-" + Guid.NewGuid().ToString("N")[..8],
            Cluster = "default",
            TaskDefinition = "busy:1",
            CpuLimit = 1024,
            MemoryLimit = 64,
            Containers = [Container("burn", "trap 'exit 0' TERM; yes >/dev/null & wait")],
        };
        var idle = new TaskSpec
        {
            TaskId = "idle-" + Guid.NewGuid().ToString("N")[..8],
            Cluster = "default",
            TaskDefinition = "idle:1",
            Containers = [Container("sleep", "trap 'exit 0' TERM; sleep 300 & wait")],
        };
        agent.Engine.ApplyDesired(new DesiredTaskSet(1, [busy, idle]));
        await agent.WaitForAsync(busy.TaskId, r => r.Status == LocalStatus.Running);
        await agent.WaitForAsync(idle.TaskId, r => r.Status == LocalStatus.Running);

        var files = new TaskStatsSampler(agent.Engine, new TaskCgroups(agent.Options, NullLogger<TaskCgroups>.Instance), engine.Runtime, TimeProvider.System);
        var (busyFromFiles, idleFromFiles) = await SampleUntilBusyAsync(files, busy.TaskId, idle.TaskId);
        Assert.Equal("cgroup-task", files.Sources[busy.TaskId]);
        Assert.Equal("cgroup-container", files.Sources[idle.TaskId]);
        Assert.InRange(idleFromFiles.CpuUnits, 0, 50);
        Assert.InRange(busyFromFiles.MemoryMib, 0.01, 64);

        // No cgroup files where the options point: the engine's one-shot stats, the same figures.
        var engineOptions = Options.Create(new Berth.Agent.Configuration.AgentOptions { SchedulerUrl = new Uri("http://127.0.0.1:1"), DataDirectory = _state.FullName });
        engineOptions.Value.Cgroups.Root = Path.Combine(_state.FullName, "no-cgroups");
        var viaEngine = new TaskStatsSampler(agent.Engine, new TaskCgroups(engineOptions, NullLogger<TaskCgroups>.Instance), engine.Runtime, TimeProvider.System);
        var (busyFromEngine, idleFromEngine) = await SampleUntilBusyAsync(viaEngine, busy.TaskId, idle.TaskId);
        Assert.Equal("engine", viaEngine.Sources[busy.TaskId]);
        Assert.Equal("engine", viaEngine.Sources[idle.TaskId]);
        Assert.InRange(idleFromEngine.CpuUnits, 0, 50);
        Assert.InRange(busyFromEngine.MemoryMib, 0.01, 64);

        agent.Engine.ApplyDesired(new DesiredTaskSet(2, []));
        await TaskTimeouts.WaitUntilAsync(async () => (await agent.ContainersAsync()).Count == 0, TimeSpan.FromSeconds(30), "the tasks' containers to go");
    }

    /// <summary>
    /// Samples until the busy task shows at least a fifth of a core busy (it gets what the loaded machine leaves it, at most
    /// its one core), and returns both tasks' entries of that sample.
    /// </summary>
    private async Task<(TaskStats Busy, TaskStats Idle)> SampleUntilBusyAsync(TaskStatsSampler sampler, string busyId, string idleId)
    {
        TaskStats? busy = null, idle = null;
        Assert.Empty((await sampler.SampleAsync(CancellationToken.None)).Tasks);
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            // CPU use is a rate: it needs a real measurement window. Over ~100 ms the engine's answer time (its stats
            // are read when it answers, the window is timed here) skews the rate by up to 2x; over 2 s it does not.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var report = await sampler.SampleAsync(CancellationToken.None);
            busy = report.Tasks.FirstOrDefault(t => t.TaskId == busyId);
            idle = report.Tasks.FirstOrDefault(t => t.TaskId == idleId);
            if (busy is not null)
            {
                output.WriteLine($"busy {busy.CpuUnits:0} units {busy.MemoryMib:0.0} MiB over {busy.IntervalMs} ms; idle {idle?.CpuUnits:0} units");
            }

            return busy is { CpuUnits: > 200, IntervalMs: > 1500 } && idle is not null;
        }, TimeSpan.FromSeconds(30), "a sample with the busy task using CPU");
        Assert.InRange(busy!.CpuUnits, 200, 1024 * 1.2);
        return (busy, idle!);
    }

    public void Dispose()
    {
        using var runtime = new DockerContainerRuntime(new Uri("unix:///var/run/docker.sock"));
        foreach (var c in runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _scope }, CancellationToken.None).GetAwaiter().GetResult())
        {
            runtime.RemoveContainerAsync(c.Id, CancellationToken.None).GetAwaiter().GetResult();
        }

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

    private ContainerSpec Container(string name, string script) => new()
    {
        Name = name,
        Image = engine.Image,
        Essential = true,
        EntryPoint = ["sh", "-c"],
        Command = [script],
        StopTimeout = TimeSpan.FromSeconds(2),
    };
}

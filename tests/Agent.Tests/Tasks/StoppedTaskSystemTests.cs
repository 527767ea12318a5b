using Berth.Agent.Configuration;
using Berth.Agent.Logs;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.TestSupport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Tasks;

/// <summary>
/// What is left of a stopped task, against the real engine: its containers for the cleanup wait (not adopted as a live
/// task by a restarted agent), then the lines saved when it stopped, then a clear "nothing left". The cleanup clock is
/// a fake one, so the 3-hour wait passes in a step.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class StoppedTaskSystemTests(EngineFixture engine, ITestOutputHelper output) : IDisposable
{
    private readonly string _scope = "test-" + Guid.NewGuid().ToString("N")[..10];
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("berth-agent-state-");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TaskCleanupOptions _cleanup = new() { Wait = TimeSpan.FromHours(3), SavedLogBytesPerContainer = 64 * 1024 };

    [Fact]
    public async Task StoppedTask_KeepsItsContainersForTheWait_ThenItsSavedLinesServeLogs_ThenNothingIsLeft()
    {
        var task = NewTask("crash", "echo starting; echo the config is missing >&2; exit 3");
        string containerId;
        await using (var agent = await StartAgentAsync())
        {
            agent.Engine.ApplyDesired(new DesiredTaskSet(1, [task]));
            var stopped = await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Stopped);
            containerId = stopped.Containers[0].RuntimeId!;

            // The scheduler drops the stopped task: the agent forgets it as a task but keeps its container.
            agent.Engine.ApplyDesired(new DesiredTaskSet(2, []));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(agent.Retention.IsRetained(task.TaskId)), TimeSpan.FromSeconds(30), "the task to be kept");
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!agent.Engine.Snapshot().Any(r => r.TaskId == task.TaskId)), TimeSpan.FromSeconds(30), "the task to be forgotten");
            Assert.Equal(containerId, Assert.Single(await agent.ContainersAsync()).Id);

            // Its output comes from the kept container.
            var fromContainer = await ReadAsync(agent, new TaskLogQuery(task.TaskId, "main"));
            Assert.Null(fromContainer.Notice);
            Assert.Equal(["starting"], fromContainer.Stdout);
            Assert.Equal(["the config is missing"], fromContainer.Stderr);
        }

        // A restarted agent (a new process: new engine, same state dir) neither adopts nor reports the kept task.
        await using (var restarted = await StartAgentAsync())
        {
            restarted.Engine.ApplyDesired(new DesiredTaskSet(3, []));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(restarted.Engine.EngineAvailable), TimeSpan.FromSeconds(10), "the first pass");
            await restarted.Engine.WhenIdleAsync(CancellationToken.None);
            Assert.DoesNotContain(restarted.Engine.Snapshot(), r => r.TaskId == task.TaskId);
            Assert.Equal(containerId, Assert.Single(await restarted.ContainersAsync()).Id);

            // Before the wait is over a sweep keeps it; after it the container goes, and the saved lines serve logs.
            Assert.Empty(await restarted.Retention.SweepAsync(() => 0, CancellationToken.None));
            _clock.Advance(TimeSpan.FromHours(3) + TimeSpan.FromSeconds(1));
            Assert.Equal([task.TaskId], await restarted.Retention.SweepAsync(() => 0, CancellationToken.None));
            Assert.Empty(await restarted.ContainersAsync());

            var saved = await ReadAsync(restarted, new TaskLogQuery(task.TaskId, "main"));
            Assert.Equal(LogSource.Saved, saved.Notice?.Source);
            output.WriteLine(saved.Notice!.Message);
            Assert.Contains(task.TaskId, saved.Notice.Message, StringComparison.Ordinal);
            Assert.Equal(["starting"], saved.Stdout);
            Assert.Equal(["the config is missing"], saved.Stderr);
            Assert.All(saved.Lines, l => Assert.NotNull(l.Time));

            // Tail and since apply to saved lines as to a container's.
            Assert.Empty((await ReadAsync(restarted, new TaskLogQuery(task.TaskId, "main") { Tail = 0 })).Lines);
            Assert.Single((await ReadAsync(restarted, new TaskLogQuery(task.TaskId, "main") { Tail = 1 })).Lines);
            Assert.Empty((await ReadAsync(restarted, new TaskLogQuery(task.TaskId, "main") { Since = DateTimeOffset.UtcNow.AddMinutes(1) })).Lines);

            // Past the saved lines' retention nothing is left, and the answer says so.
            _clock.Advance(_cleanup.SavedLogRetention);
            await restarted.Retention.SweepAsync(() => 0, CancellationToken.None);
            var gone = await ReadAsync(restarted, new TaskLogQuery(task.TaskId, "main"));
            Assert.Equal(LogSource.None, gone.Notice?.Source);
            Assert.Empty(gone.Lines);
            output.WriteLine(gone.Notice!.Message);
            Assert.Contains("no output", gone.Notice.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KeptTasks_BeyondTheLimitOrWithTheDiskFull_GoOldestFirst()
    {
        _cleanup.MaxRetainedTasks = 2;
        await using var agent = await StartAgentAsync();
        var tasks = new[] { NewTask("old", "exit 0"), NewTask("middle", "exit 0"), NewTask("new", "exit 0") };
        var version = 1;
        foreach (var task in tasks)
        {
            agent.Engine.ApplyDesired(new DesiredTaskSet(version++, [task]));
            await agent.WaitForAsync(task.TaskId, r => r.Status == LocalStatus.Stopped);
            agent.Engine.ApplyDesired(new DesiredTaskSet(version++, []));
            await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(agent.Retention.IsRetained(task.TaskId)), TimeSpan.FromSeconds(30), "the task to be kept");
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        // Three kept, two allowed: the oldest goes.
        Assert.Equal([tasks[0].TaskId], await agent.Retention.SweepAsync(() => 0, CancellationToken.None));
        // The disk is over the threshold: the oldest of the rest goes, then the disk is fine again.
        var disk = new Queue<double>([95, 50]);
        Assert.Equal([tasks[1].TaskId], await agent.Retention.SweepAsync(() => disk.Count > 0 ? disk.Dequeue() : 50, CancellationToken.None));
        Assert.Equal(tasks[2].TaskId, Assert.Single(await agent.ContainersAsync()).Labels[ContainerLabels.TaskId]);
        // The removed ones still have their saved lines.
        Assert.True(agent.Archive.Exists(tasks[0].TaskId));
    }

    [Fact]
    public async Task Logs_OfATaskThisHostHasNoTraceOf_SayNothingIsLeft_AndANegativeTailIsRefused()
    {
        await using var agent = await StartAgentAsync();
        var pending = await ReadAsync(agent, new TaskLogQuery("0123456789abcdef0123456789abcdef", "main"));
        Assert.Equal(LogSource.None, pending.Notice?.Source);
        Assert.Contains("no output", pending.Notice!.Message, StringComparison.Ordinal);
        Assert.Equal(LogSource.None, (await ReadAsync(agent, new TaskLogQuery("any", "main") { Tail = -1 })).Notice?.Source);
    }

    public void Dispose()
    {
        foreach (var c in engine.Runtime.ListContainersAsync(new Dictionary<string, string> { [ContainerLabels.Agent] = _scope }, CancellationToken.None).GetAwaiter().GetResult())
        {
            engine.Runtime.RemoveContainerAsync(c.Id, CancellationToken.None).GetAwaiter().GetResult();
        }

        _state.Delete(recursive: true);
    }

    private static async Task<(LogNotice? Notice, List<LogLine> Lines, List<string> Stdout, List<string> Stderr)> ReadAsync(AgentHarness agent, TaskLogQuery query)
    {
        LogNotice? notice = null;
        var lines = new List<LogLine>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var item in agent.Logs.ReadAsync(query, cts.Token))
        {
            if (item.Notice is { } n)
            {
                notice = n;
            }
            else
            {
                lines.Add(item.Line!);
            }
        }

        return (notice, lines, lines.Where(l => !l.IsError).Select(l => l.Text).ToList(), lines.Where(l => l.IsError).Select(l => l.Text).ToList());
    }

    private async Task<AgentHarness> StartAgentAsync()
    {
        var agent = new AgentHarness(engine.Runtime, _scope, _state.FullName, output, cleanup: _cleanup, cleanupClock: _clock);
        await agent.StartAsync();
        return agent;
    }

    private TaskSpec NewTask(string name, string script) => new()
    {
        TaskId = $"{name}{Guid.NewGuid():N}"[..32],
        Cluster = "default",
        TaskDefinition = "fam:1",
        Containers =
        [
            new ContainerSpec { Name = "main", Image = engine.Image, EntryPoint = ["sh", "-c"], Command = [script], StopTimeout = TimeSpan.FromSeconds(2) },
        ],
    };
}

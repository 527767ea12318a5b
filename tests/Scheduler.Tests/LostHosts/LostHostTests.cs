using System.Collections.Concurrent;
using Berth.Scheduler.LostHosts;
using CommittedChange = Berth.Scheduler.Kernel.CommittedChange;
using IChangeObserver = Berth.Scheduler.Kernel.IChangeObserver;
using StateKernel = Berth.Scheduler.Kernel.StateKernel;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LostHosts;

/// <summary>
/// Lost-host detection with simulated agents over real gRPC and the scheduler's clock in the test's hand: an agent
/// silent for longer than the grace period (30 s by default) has its tasks marked UNKNOWN; a shorter blip changes
/// nothing; a returning agent's snapshot decides again; a restart gives every agent the full period.
/// </summary>
public sealed class LostHostTests(ITestOutputHelper output) : SchedulerTest(output)
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ConcurrentQueue<string> _lostHostEvents = new();
    private IDisposable? _subscription;

    private protected override TimeProvider? Time => _time;

    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Scheduler:HeartbeatInterval"] = "00:00:40",
        ["Scheduler:MissedHeartbeatsBeforeDisconnect"] = "2",
    };

    private LostHostMonitor Monitor => Host.Services.GetRequiredService<LostHostMonitor>();

    private StateKernel Kernel => Host.Services.GetRequiredService<StateKernel>();

    private LostHostHandler LostHosts => Host.Services.GetRequiredService<LostHostHandler>();

    private List<string> UnknownTasks() => LostHosts.ListUnknownTasks("default", t => t.Id);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        SubscribeToLostHostEvents();
    }

    [Fact]
    public async Task SilentLongerThanTheGracePeriod_TasksBecomeUnknownAndKeepTheirResources()
    {
        var (agent, tasks) = await AgentWithRunningTasksAsync();
        var held = (await DescribeInstanceAsync(agent.InstanceId)).RemainingResources.Cpu;
        await DisconnectAsync(agent);

        await AdvanceAsync(Grace - TimeSpan.FromSeconds(1));
        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Running, t.LastStatus));
        Assert.Empty(_lostHostEvents);

        await AdvanceAsync(TimeSpan.FromSeconds(2));
        var described = await DescribeAsync(tasks);

        Assert.All(described, t => Assert.Equal(LifecycleStatus.Unknown, t.LastStatus));
        Assert.All(described, t => Assert.Equal(LifecycleStatus.Running, t.DesiredStatus));
        Assert.Equal([agent.InstanceId], _lostHostEvents);
        Assert.Equal(tasks.Select(t => t.Id), UnknownTasks());
        // Still reserved on the lost host (it may still run them), but neither running nor pending.
        var instance = await DescribeInstanceAsync(agent.InstanceId);
        Assert.Equal(held, instance.RemainingResources.Cpu);
        Assert.Equal((0, 0), (instance.RunningTasksCount, instance.PendingTasksCount));
        var cluster = (await Host.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { "default" } }, Host.Admin)).Clusters.Single();
        Assert.Equal((0, 0), (cluster.RunningTasksCount, cluster.PendingTasksCount));
        Assert.Equal(2, (await Host.Tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = LifecycleStatus.Running }, Host.Admin)).TaskArns.Count);
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = LifecycleStatus.Pending }, Host.Admin)).TaskArns);
    }

    [Fact]
    public async Task BlipShorterThanTheGracePeriod_ChangesNothing()
    {
        var (agent, tasks) = await AgentWithRunningTasksAsync();
        await DisconnectAsync(agent);
        await AdvanceAsync(TimeSpan.FromSeconds(20));

        // Back within the grace period, with both tasks as it last reported them.
        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts, tasks.Select(t => t.Report));
        await AdvanceAsync(TimeSpan.FromSeconds(15));
        await AdvanceAsync(TimeSpan.FromSeconds(10));

        // 45 s after it first went quiet, 25 s after it came back: nothing happened.
        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Running, t.LastStatus));
        Assert.Empty(UnknownTasks());
        Assert.Empty(_lostHostEvents);
        Assert.True((await DescribeInstanceAsync(agent.InstanceId)).AgentConnected);
    }

    [Fact]
    public async Task LostHostComingBack_TasksTakeWhatItsSnapshotSays()
    {
        var (agent, tasks) = await AgentWithRunningTasksAsync();
        var registered = (await DescribeInstanceAsync(agent.InstanceId)).RegisteredResources.Cpu;
        await DisconnectAsync(agent);
        await AdvanceAsync(Grace + TimeSpan.FromSeconds(1));
        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Unknown, t.LastStatus));

        // The host returns with the first task still running (its last report resent as it was); the second is gone.
        await using var back = await SimulatedAgent.ResumeAsync(Host, agent.Registration, agent.Facts, [tasks[0].Report]);
        await TaskTimeouts.WaitUntilAsync(async () => (await DescribeAsync(tasks)).All(t => t.LastStatus != LifecycleStatus.Unknown), what: "UNKNOWN resolved");

        var described = await DescribeAsync(tasks);
        Assert.Equal(LifecycleStatus.Running, described[0].LastStatus);
        Assert.Equal(LifecycleStatus.Stopped, described[1].LastStatus);
        Assert.Equal(StopCode.TerminationNotice, described[1].StopCode);
        Assert.Empty(UnknownTasks());
        // The return's event is noted after the statuses resolve (CI at load saw only the first one here).
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_lostHostEvents.Count >= 2), what: "the host's return noted");
        Assert.Equal([agent.InstanceId, agent.InstanceId], _lostHostEvents);
        // The gone task's reservation is released and it leaves the desired set.
        Assert.Equal(registered - described[0].Cpu, (await DescribeInstanceAsync(agent.InstanceId)).RemainingResources.Cpu);
        await back.WaitForDesiredAsync(d => d.Tasks.Select(t => t.TaskId).SequenceEqual([tasks[0].Id]), "the set without the gone task");
    }

    [Fact]
    public async Task AfterARestart_NoInstanceIsLostBeforeAFullGracePeriod()
    {
        var (agent, tasks) = await AgentWithRunningTasksAsync();
        await DisconnectAsync(agent);

        // Down for ten minutes: the agent was last heard of long ago, but it could not have reconnected meanwhile.
        await RestartAsync(whileStopped: () => _time.Advance(TimeSpan.FromMinutes(10)));
        SubscribeToLostHostEvents();
        await AdvanceAsync(Grace - TimeSpan.FromSeconds(1));
        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Running, t.LastStatus));

        await AdvanceAsync(TimeSpan.FromSeconds(2));

        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Unknown, t.LastStatus));
        Assert.Equal([agent.InstanceId], _lostHostEvents);
    }

    [Fact]
    public async Task ConnectedAgent_QuietLongerThanTheGracePeriod_IsLostOnlyOnceItsSessionWouldBeClosed()
    {
        // A live session speaks once per heartbeat interval (40 s here, closed after 80 s of silence): being quiet
        // for longer than the grace period between two heartbeats is not being lost.
        var (agent, tasks) = await AgentWithRunningTasksAsync();
        await using var session = agent;
        await AdvanceAsync(TimeSpan.FromSeconds(35));
        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Running, t.LastStatus));

        await AdvanceAsync(TimeSpan.FromSeconds(50));

        Assert.All(await DescribeAsync(tasks), t => Assert.Equal(LifecycleStatus.Unknown, t.LastStatus));
    }

    private void SubscribeToLostHostEvents()
    {
        _lostHostEvents.Clear();
        _subscription?.Dispose();
        _subscription = Kernel.Subscribe(new LostHostRecorder(_lostHostEvents));
    }

    private async Task<(SimulatedAgent Agent, List<RunningTask> Tasks)> AgentWithRunningTasksAsync()
    {
        var agent = await SimulatedAgent.RegisterAsync(Host);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web() }, Host.Admin);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2 }, Host.Admin);
        await agent.WaitForDesiredAsync(d => d.Tasks.Count == 2, "both tasks");
        var tasks = new List<RunningTask>();
        foreach (var task in run.Tasks.OrderBy(t => t.TaskId, StringComparer.Ordinal))
        {
            var ack = await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);
            tasks.Add(new RunningTask(task.TaskId, new TaskReport { TaskId = task.TaskId, Sequence = ack.Sequence, LastStatus = LifecycleStatus.Running }));
        }

        return (agent, tasks);
    }

    /// <summary>Moves the scheduler's clock and waits for the lost-host pass that follows.</summary>
    private async Task AdvanceAsync(TimeSpan by)
    {
        // Grace periods after a start count from the end of the load: the clock must not move while it runs.
        await Kernel.WhenLoaded.WithTimeout();
        var before = Monitor.Passes;
        _time.Advance(by);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Monitor.Passes > before), TimeSpan.FromSeconds(20), "a lost-host pass");
    }

    private async Task DisconnectAsync(SimulatedAgent agent)
    {
        await agent.DisposeAsync();
        await TaskTimeouts.WaitUntilAsync(async () => !(await DescribeInstanceAsync(agent.InstanceId)).AgentConnected, TimeSpan.FromSeconds(20), "the session to end");
    }

    private async Task<List<TaskInfo>> DescribeAsync(List<RunningTask> tasks)
    {
        var response = await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { tasks.Select(t => t.Id) } }, Host.Admin);
        return [.. tasks.Select(t => response.Tasks.Single(d => d.TaskId == t.Id))];
    }

    private async Task<ContainerInstance> DescribeInstanceAsync(string id) =>
        (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { id } }, Host.Admin)).ContainerInstances.Single();

    /// <summary>Records the instances the change feed reports as lost or back.</summary>
    private sealed class LostHostRecorder(ConcurrentQueue<string> events) : IChangeObserver
    {
        public void OnCommitted(CommittedChange change)
        {
            foreach (var id in change.LostHostsChanged)
            {
                events.Enqueue(id);
            }
        }
    }

    /// <summary>A task and the report the agent last sent for it (what its snapshot resends after reconnecting).</summary>
    private sealed record RunningTask(string Id, TaskReport Report);
}

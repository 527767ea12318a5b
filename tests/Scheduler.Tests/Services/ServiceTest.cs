using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

/// <summary>A scheduler whose service reconciler runs every 200 ms, and helpers to drive services and read their tasks.</summary>
public abstract class ServiceTest(ITestOutputHelper output) : SchedulerTest(output)
{
    private readonly List<AgentAutopilot> _autopilots = [];

    // A lost host is declared after 1 s of silence without a session (connected agents count as silent only after the
    // session timeout, 30 s by default, which no test reaches).
    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Scheduler:ServiceReconcileInterval"] = "00:00:00.200",
        ["Scheduler:LostHostGracePeriod"] = "00:00:01",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // Services need their cluster; agents registering would create it, but some tests have none.
        await Host.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = "default" }, Host.Admin);
    }

    public override async Task DisposeAsync()
    {
        foreach (var pilot in Pilots())
        {
            await StopAgentAsync(pilot);
        }

        await base.DisposeAsync();
    }

    /// <summary>Registers a simulated agent that runs what it is given (see <see cref="AgentAutopilot"/>).</summary>
    private protected async Task<AgentAutopilot> StartAgentAsync(string zone = "zone-a", bool reportHealth = false, int memory = 4096, string advertiseAddress = "")
    {
        var facts = SimulatedAgent.DefaultFacts(zone, memory: memory);
        facts.AdvertiseAddress = advertiseAddress;
        var agent = await SimulatedAgent.RegisterAsync(Host, facts: facts);
        return Track(new AgentAutopilot(agent, reportHealth));
    }

    /// <summary>Reconnects a stopped agent's host (same registration) with the tasks it still runs.</summary>
    private protected async Task<AgentAutopilot> ResumeAgentAsync(AgentAutopilot stopped, IEnumerable<string> runningTaskIds, bool reportHealth = false)
    {
        var sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 + 500_000;
        var snapshot = runningTaskIds.Select(id => new TaskReport { TaskId = id, Sequence = sequence++, LastStatus = LifecycleStatus.Running }).ToList();
        var agent = await SimulatedAgent.ResumeAsync(Host, stopped.Agent.Registration, stopped.Agent.Facts, snapshot);
        // The host runs what its snapshot says from the start, so a test's view of the running tasks includes them until
        // the scheduler's desired set stops them (until now they appeared only once re-reported, and a test could see
        // the cluster "without duplicates" before the reconnect was even handled).
        return Track(new AgentAutopilot(agent, reportHealth, snapshot.Select(r => r.TaskId)));
    }

    private AgentAutopilot Track(AgentAutopilot pilot)
    {
        lock (_autopilots)
        {
            _autopilots.Add(pilot);
        }

        return pilot;
    }

    /// <summary>Stops an agent and closes its session, as a host that goes away.</summary>
    private protected async Task StopAgentAsync(AgentAutopilot pilot)
    {
        bool removed;
        lock (_autopilots)
        {
            removed = _autopilots.Remove(pilot);
        }

        if (removed)
        {
            await pilot.DisposeAsync();
            await pilot.Agent.DisposeAsync();
        }
    }

    /// <summary>Tasks that run healthy on all the agents started by this test, right now.</summary>
    private protected IReadOnlyList<string> RunningHealthy() => [.. Pilots().SelectMany(p => p.RunningHealthy())];

    /// <summary>Tasks running (healthy or not) on all the agents started by this test, right now.</summary>
    private protected IReadOnlyList<string> Running() => [.. Pilots().SelectMany(p => p.Running())];

    private List<AgentAutopilot> Pilots()
    {
        lock (_autopilots)
        {
            return [.. _autopilots];
        }
    }

    private protected async Task<TaskDefinition> RegisterAsync(string json) =>
        (await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, Host.Admin)).TaskDefinition;

    private protected async Task<ServiceInfo> CreateAsync(CreateServiceRequest request) =>
        (await Host.ServicesApi.CreateServiceAsync(request, Host.Admin)).Service;

    private protected async Task<ServiceInfo> UpdateAsync(UpdateServiceRequest request) =>
        (await Host.ServicesApi.UpdateServiceAsync(request, Host.Admin)).Service;

    private protected async Task<ServiceInfo> DescribeAsync(string name, string cluster = "") =>
        Assert.Single((await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Cluster = cluster, Services = { name } }, Host.Admin)).Services);

    /// <summary>Waits until the described service satisfies <paramref name="predicate"/>.</summary>
    private protected async Task<ServiceInfo> WaitForServiceAsync(string name, Func<ServiceInfo, bool> predicate, string what, TimeSpan? timeout = null)
    {
        ServiceInfo? last = null;
        try
        {
            await TaskTimeouts.WaitUntilAsync(async () => predicate(last = await DescribeAsync(name)), timeout ?? TimeSpan.FromSeconds(30), what);
        }
        catch (TimeoutException)
        {
            Output.WriteLine($"last seen: {last}");
            throw;
        }

        return last!;
    }

    /// <summary>The service's tasks with the given desired status (RUNNING by default), described.</summary>
    private protected async Task<List<TaskInfo>> TasksAsync(string name, LifecycleStatus desired = LifecycleStatus.Running)
    {
        var arns = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = name, DesiredStatus = desired, MaxResults = 100 }, Host.Admin)).TaskArns;
        if (arns.Count == 0)
        {
            return [];
        }

        return [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Host.Admin)).Tasks];
    }

    /// <summary>Waits until the service's newest events include one containing <paramref name="text"/>.</summary>
    private protected Task<ServiceInfo> WaitForEventAsync(string name, string text, TimeSpan? timeout = null) =>
        WaitForServiceAsync(name, s => s.Events.Any(e => e.Message.Contains(text, StringComparison.Ordinal)), $"event '{text}'", timeout);

    private protected static bool Steady(ServiceInfo service) =>
        service.Deployments.Count > 0 && service.Deployments[0].RolloutState == "COMPLETED" && service.RunningCount == service.DesiredCount
        && service.PendingCount == 0;
}

using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Discovery;

/// <summary>Service discovery records (<c>&lt;service&gt;.&lt;cluster&gt;</c>) reaching every agent's desired state.</summary>
public sealed class ServiceDiscoveryTests(ITestOutputHelper output) : ServiceTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512",
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private static DnsRecordSet? Record(DesiredState desired, string name, DnsRecordType type) =>
        desired.ServiceDiscovery?.Records.FirstOrDefault(r => r.Name == name && r.Type == type);

    private async Task<List<TaskInfo>> WaitForTasksAsync(string service, int count)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(async () => (tasks = await TasksAsync(service)).Count == count, what: $"{count} tasks of {service}");
        return tasks;
    }

    [Fact]
    public async Task AwsvpcService_RunningTasksAddressesReachEveryAgent_AndAStoppedTaskLeaves()
    {
        await using var first = await SimulatedAgent.RegisterAsync(Host);
        await using var second = await SimulatedAgent.RegisterAsync(Host);
        var agents = new[] { first, second };
        await RegisterAsync(Awsvpc);
        await CreateAsync(new CreateServiceRequest { ServiceName = "Web", TaskDefinition = "api", DesiredCount = 2 });
        var tasks = await WaitForTasksAsync("Web", 2);

        // Each task's own agent reports it running with its address.
        for (var i = 0; i < tasks.Count; i++)
        {
            var owner = agents.Single(a => a.InstanceId == tasks[i].ContainerInstanceId);
            await owner.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == tasks[i].TaskId), "task sent");
            var address = $"10.240.{i}.10";
            await owner.ReportAndWaitAsync(tasks[i].TaskId, LifecycleStatus.Running, r => r.NetworkAttachment = new TaskNetworkAttachment { Ipv4Address = address });
        }

        var expected = new[] { "10.240.0.10", "10.240.1.10" };
        var both = new Dictionary<string, long>();
        foreach (var agent in agents)
        {
            var desired = await agent.WaitForDesiredAsync(d => Record(d, "web.default", DnsRecordType.A)?.Addresses.Count == 2, "both addresses");
            both[agent.InstanceId] = desired.Version;
            Assert.Equal(expected, Record(desired, "web.default", DnsRecordType.A)!.Addresses);
            Assert.Equal(["default"], desired.ServiceDiscovery.Namespaces);
        }

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = tasks[0].TaskId, Reason = "test" }, Host.Admin);

        foreach (var agent in agents)
        {
            // A newer state than the one with both addresses (the history also holds the one before the second arrived).
            var desired = await agent.WaitForDesiredAsync(d => d.Version > both[agent.InstanceId] && Record(d, "web.default", DnsRecordType.A)?.Addresses.Count == 1, "the stopped task's address removed");
            Assert.Equal(["10.240.1.10"], Record(desired, "web.default", DnsRecordType.A)!.Addresses);
        }
    }

    [Fact]
    public async Task BridgeService_GetsSrvRecordsWithHostAddressAndPort()
    {
        await using var agent = await SimulatedAgent.RegisterAsync(Host);
        await RegisterAsync(TaskDefinitionSamples.Web(family: "cache"));
        await CreateAsync(new CreateServiceRequest { ServiceName = "cache", TaskDefinition = "cache", DesiredCount = 1 });
        var task = Assert.Single(await WaitForTasksAsync("cache", 1));
        await agent.WaitForDesiredAsync(d => d.Tasks.Any(t => t.TaskId == task.TaskId), "task sent");

        // Not running yet: no record, but the namespace is there (its names answer NXDOMAIN).
        Assert.Null(Record(agent.Desired!, "cache.default", DnsRecordType.Srv));
        await agent.ReportAndWaitAsync(task.TaskId, LifecycleStatus.Running);

        var desired = await agent.WaitForDesiredAsync(d => Record(d, "cache.default", DnsRecordType.Srv) is not null, "SRV record");
        var target = Assert.Single(Record(desired, "cache.default", DnsRecordType.Srv)!.SrvTargets);
        Assert.Equal($"{task.TaskId}.cache.default", target.Target);
        Assert.Equal("127.0.0.1", target.Address);
        Assert.Equal(task.Containers[0].NetworkBindings[0].HostPort, target.Port);
    }
}

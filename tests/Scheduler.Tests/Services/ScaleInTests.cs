using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

/// <summary>A service's scale-in through the real scheduler, agents and gRPC: which tasks stop follows the placement strategy.</summary>
public sealed class ScaleInTests(ITestOutputHelper output) : ServiceTest(output)
{
    [Fact]
    public async Task SpreadZone_NineToThree_LeavesOneTaskPerZone_EvenWhenTheNewestTasksShareAZone()
    {
        // Two zones first (three tasks each), then a third zone joins and the scale-out to nine puts the three newest
        // tasks all there: stopping the newest would leave zone-c empty.
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker",
            DesiredCount = 6,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
        });
        await WaitForServiceAsync("web", s => Steady(s) && s.RunningCount == 6, "6 running");
        var c = await StartAgentAsync("zone-c");
        await UpdateAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 9 });
        await WaitForServiceAsync("web", s => Steady(s) && s.RunningCount == 9, "9 running");
        var zoneOf = new Dictionary<string, string> { [a.Agent.InstanceId] = "zone-a", [b.Agent.InstanceId] = "zone-b", [c.Agent.InstanceId] = "zone-c" };
        Assert.Equal(3, (await TasksAsync("web")).Count(t => zoneOf[t.ContainerInstanceId] == "zone-c"));

        await UpdateAsync(new UpdateServiceRequest { Service = "web", DesiredCount = 3 });
        await WaitForServiceAsync("web", s => Steady(s) && s.RunningCount == 3, "3 running");
        var left = await TasksAsync("web");

        Assert.Equal(["zone-a", "zone-b", "zone-c"], left.Select(t => zoneOf[t.ContainerInstanceId]).Order());
    }
}

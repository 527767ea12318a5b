using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Sessions;

/// <summary>
/// Lost-host detection driving the service reconciler, in process with the system clock and a 1 s grace period: no
/// state operation stands in for the detection here, the silence alone makes the tasks UNKNOWN.
/// </summary>
public sealed class LostHostServiceTests(ITestOutputHelper output) : ServiceTest(output)
{
    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings ?? new Dictionary<string, string?>())
    {
        ["Scheduler:LostHostGracePeriod"] = "00:00:01",
    };

    [Fact]
    public async Task SilentHost_ServiceTasksReplacedAfterTheGracePeriod_AndTheReturningHostKeepsNoDuplicate()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        await RegisterAsync(TaskDefinitionSamples.Worker());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker",
            DesiredCount = 2,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "instanceId" } },
        });
        await WaitForServiceAsync("web", Steady, "steady");
        var original = (await TasksAsync("web")).Single(t => t.ContainerInstanceId == a.Agent.InstanceId);

        await StopAgentAsync(a);
        await WaitForServiceAsync("web", s => s.RunningCount == 2 && b.Running().Count == 2, "a replacement running on the other host");

        Assert.Equal(LifecycleStatus.Unknown, (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { original.TaskId } }, Host.Admin)).Tasks[0].LastStatus);

        // Back with the original still running (its last report resent): the default policy keeps the replacement.
        await ResumeAgentAsync(a, [original.TaskId]);
        await WaitForServiceAsync("web", s => Steady(s) && Running().Count == 2, "no duplicate left");
        var back = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { original.TaskId } }, Host.Admin)).Tasks[0];
        Assert.Equal(LifecycleStatus.Stopped, back.DesiredStatus);
        Assert.NotEqual(LifecycleStatus.Unknown, back.LastStatus);
        Assert.Equal(2, (await TasksAsync("web")).Count);
    }
}

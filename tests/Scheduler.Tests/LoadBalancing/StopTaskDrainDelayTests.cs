using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// StopTask of a service task on a fake clock: with no balancer replica to say nothing is in flight, only the target
/// group's deregistration delay ends the drain, and the stop is sent only then.
/// </summary>
public sealed class StopTaskDrainDelayTests(ITestOutputHelper output) : FakeClockServiceTest(output, DateTimeOffset.UtcNow)
{
    private V1.LoadBalancing.LoadBalancingClient Api => new(Host.Channel);

    private TargetDrainer Drainer => Host.Services.GetRequiredService<TargetDrainer>();

    [Fact]
    public async Task StopTask_IsSentOnlyWhenTheDeregistrationDelayEnds()
    {
        await StartAgentAsync();
        await Api.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front" }, Host.Admin);
        var group = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = "web",
            Port = 80,
            Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 60 },
        }, Host.Admin)).TargetGroup;
        await Api.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = "front",
            Port = 8080,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = "web" } } } } },
        }, Host.Admin);
        await RegisterAsync(TaskDefinitionSamples.Web());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "web",
            DesiredCount = 1,
            LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = "web", ContainerName = "web", ContainerPort = 80 } },
        });
        await TaskTimeouts.WaitUntilAsync(async () => (await HealthAsync()).Count == 1, TimeSpan.FromSeconds(30), "the task's target registered");
        var task = Assert.Single(await TasksAsync("web"));

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn }, Host.Admin);
        Assert.Equal(TargetHealthState.Draining, Assert.Single(await HealthAsync()).TargetHealth.State);

        // One second before the delay ends nothing is removed and the task still runs.
        Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await Drainer.PassAsync());
        Assert.Equal(TargetHealthState.Draining, Assert.Single(await HealthAsync()).TargetHealth.State);
        Assert.Equal(LifecycleStatus.Running, (await DescribeTaskAsync(task.TaskArn)).DesiredStatus);
        Assert.Contains(task.TaskId, Running());

        // Past it, the target goes and the stop follows, as the user asked.
        Clock.Advance(TimeSpan.FromSeconds(2));
        await Drainer.PassAsync();
        await TaskTimeouts.WaitUntilAsync(async () => (await DescribeTaskAsync(task.TaskArn)).DesiredStatus == LifecycleStatus.Stopped, TimeSpan.FromSeconds(30), "the task asked to stop");
        var stopped = await DescribeTaskAsync(task.TaskArn);
        Assert.Equal((StopCode.UserInitiated, "Task stopped by user"), (stopped.StopCode, stopped.StoppedReason));
        Assert.DoesNotContain(await HealthAsync(), h => h.Target.Port == Assert.Single(task.Containers[0].NetworkBindings).HostPort);
    }

    private async Task<List<TargetHealthDescription>> HealthAsync() =>
        [.. (await Api.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = "web" }, Host.Admin)).TargetHealthDescriptions];

    private async Task<TaskInfo> DescribeTaskAsync(string arn) =>
        (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arn } }, Host.Admin)).Tasks.Single();
}

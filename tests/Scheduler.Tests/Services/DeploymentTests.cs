using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

public sealed class DeploymentTests(ITestOutputHelper output) : ServiceTest(output)
{
    private async Task<(TaskDefinition V1, TaskDefinition V2)> TwoRevisionsAsync(bool healthCheck = true) =>
        (await RegisterAsync(TaskDefinitionSamples.Worker(healthCheck: healthCheck)),
         await RegisterAsync(TaskDefinitionSamples.Worker(image: "registry.local/worker:2", healthCheck: healthCheck)));

    [Theory]
    [InlineData(100, 200, 4, 8)]
    [InlineData(50, 100, 2, 4)]
    public async Task RollingUpdate_NeverDropsBelowMinimumHealthy_NorAboveMaximum(int minimumHealthy, int maximum, int expectedFloor, int expectedCeiling)
    {
        for (var i = 0; i < 3; i++)
        {
            await StartAgentAsync($"zone-{i}", reportHealth: true);
        }

        var (_, v2) = await TwoRevisionsAsync();
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = "worker:1",
            DesiredCount = 4,
            DeploymentConfiguration = new DeploymentConfiguration { MinimumHealthyPercent = minimumHealthy, MaximumPercent = maximum },
        });
        var first = await WaitForServiceAsync("web", Steady, "revision 1 steady");
        Assert.Equal(4, RunningHealthy().Count);

        RunningSampler sampler;
        await using (sampler = new RunningSampler(RunningHealthy, Running))
        {
            var updated = await UpdateAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = v2.Arn });
            await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].Id == updated.Deployments[0].Id && s.Deployments.Skip(1).All(d => d.Status == "INACTIVE"), "revision 2 steady");
        }

        var tasks = await TasksAsync("web");
        Output.WriteLine($"samples {sampler.Samples}, min healthy {sampler.MinHealthy}, max running {sampler.MaxRunning}");
        // Enough samples to mean something; a loaded machine can starve the 20 ms sampler, so not many more.
        Assert.True(sampler.Samples >= 3, $"only {sampler.Samples} samples during the update");
        Assert.True(sampler.MinHealthy >= expectedFloor, $"healthy dropped to {sampler.MinHealthy}");
        Assert.True(sampler.MaxRunning <= expectedCeiling, $"{sampler.MaxRunning} ran at once");
        Assert.Equal(4, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(v2.Arn, t.TaskDefinitionArn));
        var final = await DescribeAsync("web");
        Assert.Equal(("PRIMARY", "COMPLETED"), (final.Deployments[0].Status, final.Deployments[0].RolloutState));
        Assert.Equal(("INACTIVE", first.Deployments[0].Id), (final.Deployments[1].Status, final.Deployments[1].Id));
        Assert.Equal(4, RunningHealthy().Count);
    }

    [Fact]
    public async Task CircuitBreaker_FailsADeploymentWhoseTasksExit_AndRollsBackToTheLastCompleted()
    {
        var a = await StartAgentAsync("zone-a");
        var b = await StartAgentAsync("zone-b");
        var (v1, v2) = await TwoRevisionsAsync(healthCheck: false);
        foreach (var pilot in new[] { a, b })
        {
            pilot.Behaviour = t => t.TaskDefinitionArn == v2.Arn ? TaskOutcome.ExitsAtOnce : TaskOutcome.Healthy;
        }

        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = v1.Arn,
            DesiredCount = 2,
            DeploymentConfiguration = new DeploymentConfiguration { DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true, Rollback = true } },
        });
        var first = await WaitForServiceAsync("web", Steady, "revision 1 steady");

        RunningSampler sampler;
        string failedId;
        ServiceInfo rolledBack;
        await using (sampler = new RunningSampler(RunningHealthy, Running))
        {
            failedId = (await UpdateAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = v2.Arn })).Deployments[0].Id;
            rolledBack = await WaitForServiceAsync("web", s => Steady(s) && s.Deployments[0].Id != failedId, "rolled back and steady", TimeSpan.FromSeconds(60));
        }

        var failed = rolledBack.Deployments.Single(d => d.Id == failedId);
        Assert.Equal("FAILED", failed.RolloutState);
        Assert.Equal("ECS deployment circuit breaker: tasks failed to start.", failed.RolloutStateReason);
        // clamp(0.5 x 2, 3, 200); tasks already launched when the third failed may add to it.
        Assert.InRange(failed.FailedTasks, 3, 4);
        Assert.Equal(v1.Arn, rolledBack.TaskDefinition);
        Assert.Equal(v1.Arn, rolledBack.Deployments[0].TaskDefinition);
        var messages = rolledBack.Events.Select(e => e.Message).ToList();
        Assert.Contains($"(service web) (deployment {failedId}) deployment failed: tasks failed to start.", messages);
        Assert.Contains($"(service web) rolling back to deployment {first.Deployments[0].Id}.", messages);
        Assert.True(sampler.MinHealthy >= 2, $"healthy dropped to {sampler.MinHealthy}");
        Assert.All(await TasksAsync("web"), t => Assert.Equal(v1.Arn, t.TaskDefinitionArn));
    }

    [Fact]
    public async Task CircuitBreaker_WithoutRollback_LeavesTheOldTasksAndLaunchesNoMore()
    {
        var a = await StartAgentAsync();
        var (v1, v2) = await TwoRevisionsAsync(healthCheck: false);
        a.Behaviour = t => t.TaskDefinitionArn == v2.Arn ? TaskOutcome.ExitsAtOnce : TaskOutcome.Healthy;
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "web",
            TaskDefinition = v1.Arn,
            DesiredCount = 2,
            DeploymentConfiguration = new DeploymentConfiguration { DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true } },
        });
        await WaitForServiceAsync("web", Steady, "revision 1 steady");

        await UpdateAsync(new UpdateServiceRequest { Service = "web", TaskDefinition = v2.Arn });
        var failed = await WaitForServiceAsync("web", s => s.Deployments[0].RolloutState == "FAILED", "deployment failed");
        await Task.Delay(TimeSpan.FromSeconds(0.5)); // tasks launched before the breaker tripped finish failing
        var launched = await V2TasksAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // more passes: nothing new may start
        var after = await DescribeAsync("web");
        var all = (await TasksAsync("web")).Concat(await TasksAsync("web", LifecycleStatus.Stopped)).ToList();

        Assert.InRange(after.Deployments[0].FailedTasks, 3, 4);
        Assert.Equal(launched, await V2TasksAsync());
        Assert.Equal(2, all.Count(t => t.TaskDefinitionArn == v1.Arn && t.DesiredStatus == LifecycleStatus.Running));
        Assert.Equal(2, after.RunningCount);
        Assert.Equal(failed.Deployments[0].Id, after.Deployments[0].Id);

        async Task<int> V2TasksAsync() =>
            (await TasksAsync("web")).Concat(await TasksAsync("web", LifecycleStatus.Stopped)).Count(t => t.TaskDefinitionArn == v2.Arn);
    }
}

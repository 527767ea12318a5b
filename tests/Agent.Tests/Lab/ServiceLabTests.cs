using System.Diagnostics;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// Services on real lab hosts (issue 6): the real scheduler and three real agents, each driving its own engine in its
/// own network namespace (<see cref="LabPlatform"/>). Every test makes its own service and deletes it at the end; a
/// test that drains, kills or adds a host puts it back.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class ServiceLabTests : IClassFixture<ServiceLab>, IDisposable
{
    private readonly ServiceLab _fixture;
    private readonly LabPlatform _lab;
    private readonly ITestOutputHelper _output;

    public ServiceLabTests(ServiceLab fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _lab = fixture.Platform;
        _output = output;
        fixture.Output = output;
    }

    public void Dispose() => _fixture.Output = null;

    [Fact]
    public async Task HttpTask_RunsHealthyAndServesItsPage_OnEveryHost()
    {
        // The lab itself, without services: the image revisions are in every engine and the health check passes.
        var definition = await _lab.RegisterHttpAsync("plain", 2);
        var run = await _lab.Tasks.RunTaskAsync(new RunTaskRequest
        {
            Cluster = LabPlatform.Cluster,
            TaskDefinition = definition,
            Count = 3,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
        }, _lab.Admin);
        var ids = run.Tasks.Select(t => t.TaskId).ToList();
        try
        {
            List<TaskInfo> tasks = [];
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                tasks = [.. (await _lab.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = LabPlatform.Cluster, Tasks = { ids } }, _lab.Admin)).Tasks];
                return LabPlatform.Healthy(tasks).Count == 3;
            }, TimeSpan.FromSeconds(60), "three healthy tasks");

            Assert.Equal(3, tasks.Select(t => t.ContainerInstanceArn).Distinct().Count());
            foreach (var task in tasks)
            {
                Assert.Equal("v2\n", await _lab.GetPageAsync(task));
            }
        }
        finally
        {
            foreach (var id in ids)
            {
                await _lab.Tasks.StopTaskAsync(new StopTaskRequest { Cluster = LabPlatform.Cluster, Task = id }, _lab.Admin);
            }
        }
    }

    [Fact]
    public async Task CpuBurningService_WithTargetTrackingAt50Percent_ScalesOut_ThroughRealAgentsAndScheduler()
    {
        // A task of 128 CPU units burning CPU (yes): its task cgroup caps it at an eighth of a core, so it runs at about
        // 100 % of what it reserves; target tracking at 50 % wants twice the tasks, up to the maximum 3.
        const string name = "burn";
        var json = $$"""
            {"family":"{{name}}","containerDefinitions":[{"name":"burn","image":"{{LabPlatform.HttpImages[0]}}","memory":32,"cpu":128,"essential":true,
              "entryPoint":["sh","-c"],"command":["trap 'exit 0' TERM; yes >/dev/null & wait"],"stopTimeout":2}]}
            """;
        var definition = (await _lab.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = json }, _lab.Admin)).TaskDefinition.Arn;
        var resource = $"service/{LabPlatform.Cluster}/{name}";
        try
        {
            await CreateAsync(name, definition, 1);
            // No health check: RUNNING is as good as it gets.
            await TaskTimeouts.WaitUntilAsync(async () => (await _lab.DescribeServiceAsync(name)).RunningCount == 1, TimeSpan.FromSeconds(120), "one task running");
            await _lab.AutoScaling.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = resource, MinCapacity = 1, MaxCapacity = 3 }, _lab.Admin);
            await _lab.AutoScaling.PutScalingPolicyAsync(new PutScalingPolicyRequest
            {
                PolicyName = "cpu50",
                ResourceId = resource,
                PolicyType = "TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration { TargetValue = 50, PredefinedMetricType = "ECSServiceAverageCPUUtilization", ScaleOutCooldown = 0 },
            }, _lab.Admin);

            var watch = Stopwatch.StartNew();
            await TaskTimeouts.WaitUntilAsync(async () => (await _lab.DescribeServiceAsync(name)).DesiredCount == 3, TimeSpan.FromSeconds(120), "scaled out to 3");
            _output.WriteLine($"desired 3 after {watch.Elapsed.TotalSeconds:0} s");
            await TaskTimeouts.WaitUntilAsync(async () => (await _lab.DescribeServiceAsync(name)).RunningCount == 3, TimeSpan.FromSeconds(120), "three tasks running");

            var stats = (await _lab.Metrics.GetTaskStatsAsync(new GetTaskStatsRequest { Cluster = LabPlatform.Cluster, ServiceName = name }, _lab.Admin)).Tasks;
            foreach (var s in stats)
            {
                _output.WriteLine($"{s.TaskId}: {s.CpuUnits:0} of {s.CpuReserved} units ({s.CpuUtilization:0} %), {s.MemoryMib:0.0} MiB");
            }

            Assert.Contains(stats, s => s.CpuUtilization > 50);
            var activities = (await _lab.AutoScaling.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = resource }, _lab.Admin)).ScalingActivities;
            Assert.All(activities, a => Assert.StartsWith("monitor alarm TargetTracking-cpu50-AlarmHigh", a.Cause, StringComparison.Ordinal));
            Assert.Equal(3, activities[0].ToCount);
        }
        finally
        {
            try
            {
                await _lab.AutoScaling.DeregisterScalableTargetAsync(new DeregisterScalableTargetRequest { ResourceId = resource }, _lab.Admin);
            }
            catch (Grpc.Core.RpcException)
            {
                // Not registered (the test failed before).
            }

            await _lab.DeleteServiceAsync(name);
        }
    }

    [Fact]
    public async Task ReplicaService_NineTasksSpreadOverTheThreeZones_ScaleInToThree_LeavesOnePerZone()
    {
        const string name = "spread";
        var definition = await _lab.RegisterHttpAsync(name, 1);
        try
        {
            await CreateAsync(name, definition, 9);

            var tasks = await _lab.WaitForSteadyAsync(name, 9);

            var instances = await _lab.DescribeInstancesAsync();
            Assert.Equal(new Dictionary<string, int> { ["a"] = 3, ["b"] = 3, ["c"] = 3 }, Zones(tasks, instances));
            // What the engines really run is exactly the tasks the scheduler knows.
            Assert.Equal(tasks.Select(t => t.TaskId).Order(), (await RunningEverywhereAsync(name)).Order());
            Assert.All(tasks, t => Assert.Equal("service:" + name, t.Group));
            Assert.Equal("v1\n", await _lab.GetPageAsync(tasks[0]));

            // The seed's sentence: scale-in follows the placement strategy, so spread(zone) stops two tasks in every
            // zone (not the six newest, wherever they run) and leaves one per zone.
            await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = name, DesiredCount = 3 }, _lab.Admin);
            var kept = await _lab.WaitForSteadyAsync(name, 3);

            Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 1, ["c"] = 1 }, Zones(kept, instances));
            // The engines stop the other six (SIGTERM, then their exit is reported).
            await TaskTimeouts.WaitUntilAsync(async () => (await RunningEverywhereAsync(name)).Order().SequenceEqual(kept.Select(t => t.TaskId).Order()),
                TimeSpan.FromSeconds(60), "the engines to run only the three kept tasks");
            var service = await _lab.DescribeServiceAsync(name);
            Assert.Equal((3, 3, 0), (service.DesiredCount, service.RunningCount, service.PendingCount));
            Assert.Contains(service.Events, e => e.Message.Contains("has reached a steady state", StringComparison.Ordinal));
        }
        finally
        {
            await _lab.DeleteServiceAsync(name);
        }

        static Dictionary<string, int> Zones(List<TaskInfo> tasks, List<ContainerInstance> instances) =>
            tasks.GroupBy(t => ZoneOfTask(t, instances)).ToDictionary(g => g.Key, g => g.Count());
    }

    [Fact]
    public async Task RollingUpdate_ToANewImageRevision_KeepsMinimumHealthyRunningThroughout()
    {
        const string name = "rolling";
        var first = await _lab.RegisterHttpAsync(name, 1);
        var second = await _lab.RegisterHttpAsync(name, 2);
        try
        {
            // 50 % / 150 %: at least 3 of 6 healthy, at most 9 at once; the deployment has to stop old tasks early.
            await CreateAsync(name, first, 6, minimumHealthyPercent: 50, maximumPercent: 150);
            await _lab.WaitForSteadyAsync(name, 6);

            await using var sampler = HealthySampler.Start(_lab, name, _output.WriteLine);
            var clock = Stopwatch.StartNew();
            await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = name, TaskDefinition = second }, _lab.Admin);
            var tasks = await _lab.WaitForSteadyAsync(name, 6);
            var samples = await sampler.StopAsync();
            _output.WriteLine($"rolling update of 6 tasks: {clock.Elapsed.TotalSeconds:F1} s; healthy samples min {samples.Min()} over {samples.Count}");

            Assert.All(tasks, t => Assert.Equal(second, t.TaskDefinitionArn));
            Assert.True(samples.Count >= 5, $"only {samples.Count} samples");
            AssertNeverBelow(samples, 3);
            Assert.True(samples.Max() <= 9, $"more than 150 %: {samples.Max()}");
            Assert.Equal("v2\n", await _lab.GetPageAsync(tasks[0]));
            var service = await _lab.DescribeServiceAsync(name);
            Assert.Equal(second, service.TaskDefinition);
            Assert.Equal("PRIMARY", Assert.Single(LabPlatform.LiveDeployments(service)).Status);
        }
        finally
        {
            await _lab.DeleteServiceAsync(name);
        }
    }

    [Fact]
    public async Task CircuitBreaker_FailsARevisionWhoseContainerExitsAtOnce_AndRollsBack()
    {
        const string name = "breaker";
        var good = await _lab.RegisterHttpAsync(name, 1);
        var bad = await _lab.RegisterHttpAsync(name, 1, command: "exit 3");
        try
        {
            await CreateAsync(name, good, 3, circuitBreaker: new DeploymentCircuitBreaker { Enable = true, Rollback = true });
            await _lab.WaitForSteadyAsync(name, 3);

            await using var sampler = HealthySampler.Start(_lab, name, _output.WriteLine);
            await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = name, TaskDefinition = bad }, _lab.Admin);

            Deployment? failed = null;
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                var service = await _lab.DescribeServiceAsync(name);
                failed = service.Deployments.FirstOrDefault(d => d.TaskDefinition == bad && d.RolloutState == "FAILED");
                return failed is not null;
            }, TimeSpan.FromSeconds(120), "the circuit breaker to fail the bad deployment");
            var after = await _lab.WaitForSteadyAsync(name, 3);
            var samples = await sampler.StopAsync();

            // ECS: threshold clamp(0.5 x 3, 3, 200) = 3 failed tasks.
            Assert.True(failed!.FailedTasks >= 3, $"failed tasks {failed.FailedTasks}");
            Assert.Contains("circuit breaker", failed.RolloutStateReason, StringComparison.OrdinalIgnoreCase);
            var rolledBack = await _lab.DescribeServiceAsync(name);
            Assert.Equal(good, rolledBack.TaskDefinition);
            Assert.All(after, t => Assert.Equal(good, t.TaskDefinitionArn));
            // Three good tasks kept running throughout (minimum 100 %), through the failure and the rollback.
            AssertNeverBelow(samples, 3);
        }
        finally
        {
            await _lab.DeleteServiceAsync(name);
        }
    }

    [Fact]
    public async Task DrainingAHost_MovesItsTasksElsewhere_WithoutDroppingBelowTheMinimum()
    {
        const string name = "drain";
        var definition = await _lab.RegisterHttpAsync(name, 1);
        var host = _lab.Lab.Hosts[0];
        var instance = await _lab.InstanceOfAsync(host);
        try
        {
            await CreateAsync(name, definition, 6, minimumHealthyPercent: 100, maximumPercent: 200);
            var before = await _lab.WaitForSteadyAsync(name, 6);
            Assert.Contains(before, t => t.ContainerInstanceArn == instance.ContainerInstanceArn);

            await using var sampler = HealthySampler.Start(_lab, name, _output.WriteLine);
            await _lab.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { Cluster = LabPlatform.Cluster, ContainerInstances = { instance.ContainerInstanceArn }, Status = ContainerInstanceStatus.Draining }, _lab.Admin);
            List<TaskInfo> after = [];
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                after = await _lab.ServiceTasksAsync(name);
                return after.Count == 6 && LabPlatform.Healthy(after).Count == 6 && after.All(t => t.ContainerInstanceArn != instance.ContainerInstanceArn);
            }, TimeSpan.FromSeconds(120), "the drained host's tasks to move");
            var samples = await sampler.StopAsync();

            AssertNeverBelow(samples, 6);
            Assert.Empty(await _lab.RunningTaskIdsAsync(host, name));
            Assert.Equal(after.Select(t => t.TaskId).Order(), (await RunningEverywhereAsync(name)).Order());
        }
        finally
        {
            await _lab.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest { Cluster = LabPlatform.Cluster, ContainerInstances = { instance.ContainerInstanceArn }, Status = ContainerInstanceStatus.Active }, _lab.Admin);
            await _lab.DeleteServiceAsync(name);
        }
    }

    [Fact]
    public async Task LostHost_TasksAreReplacedAfterTheGracePeriod_AndNoDuplicateSurvivesItsReturn()
    {
        const string name = "lost";
        var definition = await _lab.RegisterHttpAsync(name, 1);
        var host = _lab.Lab.Hosts[2];
        var instance = await _lab.InstanceOfAsync(host);
        try
        {
            await CreateAsync(name, definition, 6);
            var before = await _lab.WaitForSteadyAsync(name, 6);
            var onLostHost = before.Where(t => t.ContainerInstanceArn == instance.ContainerInstanceArn).Select(t => t.TaskId).ToList();
            Assert.NotEmpty(onLostHost);

            // The host dies: its agent and its engine at once.
            var clock = Stopwatch.StartNew();
            await _lab.KillAgentAsync(host);
            await _lab.Lab.KillEngineAsync(host);

            // Its tasks become UNKNOWN after the grace period, and are replaced on the other hosts.
            await TaskTimeouts.WaitUntilAsync(async () =>
            {
                var tasks = await _lab.ServiceTasksAsync(name);
                return LabPlatform.Healthy(tasks).Count(t => t.ContainerInstanceArn != instance.ContainerInstanceArn) == 6;
            }, TimeSpan.FromSeconds(120), "replacements on the other hosts");
            var replaced = clock.Elapsed;
            _output.WriteLine($"lost host's tasks running elsewhere after {replaced.TotalSeconds:F1} s (grace {LabPlatform.LostHostGrace.TotalSeconds} s)");
            var described = await _lab.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = LabPlatform.Cluster, Tasks = { onLostHost } }, _lab.Admin);
            Assert.All(described.Tasks, t => Assert.True(t.LastStatus is LifecycleStatus.Unknown or LifecycleStatus.Stopped, $"{t.TaskId} is {t.LastStatus}"));
            Assert.True(replaced >= LabPlatform.LostHostGrace, $"replaced after {replaced.TotalSeconds:F1} s, inside the grace period");

            // The host comes back: the service keeps six, and exactly six containers run across the engines.
            await _lab.Lab.StartEngineAsync(host);
            _lab.StartAgent(host);
            await _lab.WaitForConnectedAgentsAsync(3);
            var after = await _lab.WaitForSteadyAsync(name, 6);
            await TaskTimeouts.WaitUntilAsync(async () => (await RunningEverywhereAsync(name)).Count == 6, TimeSpan.FromSeconds(60), "the surplus to stop");

            Assert.Equal(after.Select(t => t.TaskId).Order(), (await RunningEverywhereAsync(name)).Order());
            var original = await _lab.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = LabPlatform.Cluster, Tasks = { onLostHost } }, _lab.Admin);
            Assert.All(original.Tasks, t => Assert.Equal(LifecycleStatus.Stopped, t.LastStatus));
        }
        finally
        {
            if (!(await _lab.DescribeInstancesAsync()).Single(i => i.ContainerInstanceArn == instance.ContainerInstanceArn).AgentConnected)
            {
                await _lab.Lab.StartEngineAsync(host);
                _lab.StartAgent(host);
            }

            await _lab.DeleteServiceAsync(name);
        }
    }

    [Fact]
    public async Task DaemonService_FollowsAFourthHostJoining()
    {
        const string name = "daemon";
        var definition = await _lab.RegisterHttpAsync(name, 1);
        var fourth = _lab.Lab.Hosts[3];
        try
        {
            await _lab.Services.CreateServiceAsync(new CreateServiceRequest
            {
                Cluster = LabPlatform.Cluster,
                ServiceName = name,
                TaskDefinition = definition,
                SchedulingStrategy = SchedulingStrategy.Daemon,
            }, _lab.Admin);
            var three = await _lab.WaitForSteadyAsync(name, 3);
            Assert.Equal(3, three.Select(t => t.ContainerInstanceArn).Distinct().Count());

            _lab.StartAgent(fourth);
            await _lab.WaitForConnectedAgentsAsync(4);
            var four = await _lab.WaitForSteadyAsync(name, 4);

            var joined = await _lab.InstanceOfAsync(fourth);
            Assert.Equal(4, four.Select(t => t.ContainerInstanceArn).Distinct().Count());
            Assert.Single(four, t => t.ContainerInstanceArn == joined.ContainerInstanceArn);
            Assert.Single(await _lab.RunningTaskIdsAsync(fourth, name));
            Assert.Equal(4, (await _lab.DescribeServiceAsync(name)).DesiredCount);
        }
        finally
        {
            await _lab.DeleteServiceAsync(name);
            // Back to three hosts for the other tests.
            await _lab.KillAgentAsync(fourth);
            var joined = (await _lab.DescribeInstancesAsync()).FirstOrDefault(i => i.Attributes.Any(a => a.Name == "berth.zone" && a.Value == LabPlatform.ZoneOf(fourth)));
            if (joined is not null)
            {
                await _lab.Instances.DeregisterContainerInstanceAsync(new DeregisterContainerInstanceRequest { Cluster = LabPlatform.Cluster, ContainerInstance = joined.ContainerInstanceArn, Force = true }, _lab.Admin);
            }
        }
    }

    private Task<CreateServiceResponse> CreateAsync(string name, string definition, int count, int? minimumHealthyPercent = null, int? maximumPercent = null, DeploymentCircuitBreaker? circuitBreaker = null)
    {
        var configuration = new DeploymentConfiguration { DeploymentCircuitBreaker = circuitBreaker };
        if (minimumHealthyPercent is { } min)
        {
            configuration.MinimumHealthyPercent = min;
        }

        if (maximumPercent is { } max)
        {
            configuration.MaximumPercent = max;
        }

        return _lab.Services.CreateServiceAsync(new CreateServiceRequest
        {
            Cluster = LabPlatform.Cluster,
            ServiceName = name,
            TaskDefinition = definition,
            DesiredCount = count,
            DeploymentConfiguration = configuration,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
        }, _lab.Admin).ResponseAsync;
    }

    private static void AssertNeverBelow(List<int> healthySamples, int minimum) =>
        Assert.True(healthySamples.Min() >= minimum, $"healthy tasks dropped to {healthySamples.Min()} (minimum {minimum}): {string.Join(' ', healthySamples)}");

    /// <summary>The task ids of the family's containers running on any lab host's engine.</summary>
    private async Task<List<string>> RunningEverywhereAsync(string family) =>
        [.. (await Task.WhenAll(_lab.Lab.Hosts.Select(h => _lab.RunningTaskIdsAsync(h, family)))).SelectMany(ids => ids)];

    private static string ZoneOfTask(TaskInfo task, List<ContainerInstance> instances) =>
        instances.Single(i => i.ContainerInstanceArn == task.ContainerInstanceArn).Attributes.Single(a => a.Name == "berth.zone").Value;
}

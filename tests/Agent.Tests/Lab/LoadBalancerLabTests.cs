using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// A service behind the real balancer on real lab hosts (issue 16, "Zero failed requests"): the scheduler, three agents
/// with their own engines, one balancer process, and a steady client load through the balancer's listener while the
/// service, the cluster, the scheduler or the balancer's configuration changes. Every request is counted; none may fail,
/// except those in flight on a container killed with SIGKILL.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class LoadBalancerLabTests : IClassFixture<ServiceLab>, IDisposable
{
    private readonly ServiceLab _fixture;
    private readonly LabPlatform _lab;
    private readonly ITestOutputHelper _output;

    public LoadBalancerLabTests(ServiceLab fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _lab = fixture.Platform;
        _output = output;
        fixture.Output = output;
    }

    public void Dispose() => _fixture.Output = null;

    [Fact]
    public async Task RollingDeploymentAndScaleIn_ThroughTheBalancer_FailNoRequest()
    {
        await using var service = await BalancedService.StartAsync(_lab, desiredCount: 3);
        var (v2, group) = (service.Revisions[1], service.Groups[0].TargetGroupArn);
        await using (var load = new SteadyLoad(service.Address, _output))
        {
            await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = service.Name, TaskDefinition = v2 }, _lab.Admin);
            await TaskTimeouts.WaitUntilAsync(async () => (await _lab.DescribeServiceAsync(service.Name)).Deployments[0].TaskDefinition == v2, TimeSpan.FromSeconds(10), "the deployment");
            var tasks = await _lab.WaitForSteadyAsync(service.Name, 3, TimeSpan.FromMinutes(5));
            Assert.All(tasks, t => Assert.Equal(v2, t.TaskDefinitionArn));
            await load.WaitForAsync(l => l.Count("v2\n") > 0, "v2 through the balancer");

            await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = service.Name, DesiredCount = 1 }, _lab.Admin);
            await _lab.WaitForSteadyAsync(service.Name, 1, TimeSpan.FromMinutes(3));

            var result = await load.StopAsync();
            Assert.True(result.Total > 100, $"only {result.Total} requests");
            Assert.Empty(result.Failures);
        }

        var events = (await _lab.DescribeServiceAsync(service.Name)).Events.Select(e => e.Message).ToList();
        Assert.Contains(events, e => e.Contains("registered", StringComparison.Ordinal) && e.Contains(group, StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains("has begun draining connections", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains("deregistered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstanceDrain_UnderLoad_FailsNoRequest_AndDrainsTargetsBeforeTheirTasksStop()
    {
        await using var service = await BalancedService.StartAsync(_lab, desiredCount: 3);
        var instance = await _lab.InstanceOfAsync(_lab.Lab.Hosts[0]);
        // Spread by zone: one task on each of the three hosts, so the drained one has one.
        var victim = Assert.Single(await _lab.ServiceTasksAsync(service.Name), t => t.ContainerInstanceArn == instance.ContainerInstanceArn);
        try
        {
            await using var load = new SteadyLoad(service.Address, _output);
            await load.WaitForMoreAsync(50, "before the drain");
            await _lab.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest
            {
                Cluster = LabPlatform.Cluster,
                ContainerInstances = { instance.ContainerInstanceArn },
                Status = ContainerInstanceStatus.Draining,
            }, _lab.Admin);

            // The task goes only after its replacement is healthy (minimumHealthyPercent 100), and its target drains first.
            await TaskTimeouts.WaitUntilAsync(async () => (await _lab.ServiceTasksAsync(service.Name)).TrueForAll(t => t.ContainerInstanceArn != instance.ContainerInstanceArn),
                TimeSpan.FromMinutes(3), "the drained instance's task to stop");
            var tasks = await _lab.WaitForSteadyAsync(service.Name, 3, TimeSpan.FromMinutes(3));
            Assert.DoesNotContain(tasks, t => t.ContainerInstanceArn == instance.ContainerInstanceArn);
            await load.WaitForMoreAsync(50, "after the drain");

            var result = await load.StopAsync();
            Assert.True(result.Total > 100, $"only {result.Total} requests");
            Assert.Empty(result.Failures);
        }
        finally
        {
            await _lab.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest
            {
                Cluster = LabPlatform.Cluster,
                ContainerInstances = { instance.ContainerInstanceArn },
                Status = ContainerInstanceStatus.Active,
            }, _lab.Admin);
        }

        // The order the scheduler kept: draining began, then the target went (nothing in flight at the balancer or the
        // delay over), and the task was stopped in that same commit, not before.
        var stopped = (await _lab.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = LabPlatform.Cluster, Tasks = { victim.TaskArn } }, _lab.Admin)).Tasks.Single();
        Assert.Contains("DRAINING", stopped.StoppedReason, StringComparison.Ordinal);
        var events = (await _lab.DescribeServiceAsync(service.Name)).Events.ToList();
        var stoppedEvent = Assert.Single(events, e => e.Message.Contains("has stopped 1 running tasks", StringComparison.Ordinal) && e.Message.Contains(victim.TaskId, StringComparison.Ordinal));
        var deregistered = events.Where(e => e.Message.Contains("deregistered", StringComparison.Ordinal) && e.CreatedAt <= stoppedEvent.CreatedAt).MaxBy(e => e.CreatedAt);
        Assert.NotNull(deregistered);
        var began = events.Where(e => e.Message.Contains("has begun draining connections", StringComparison.Ordinal) && e.CreatedAt <= deregistered.CreatedAt).MaxBy(e => e.CreatedAt);
        Assert.NotNull(began);
        Assert.True(stopped.StoppingAt.ToDateTimeOffset() >= deregistered.CreatedAt.ToDateTimeOffset(),
            $"the task was asked to stop at {stopped.StoppingAt} but its target was removed at {deregistered.CreatedAt}");
        _output.WriteLine($"draining began {began.CreatedAt}, target removed {deregistered.CreatedAt}, task stopping {stopped.StoppingAt}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SchedulerRestart_UnderLoad_FailsNoRequest_AndTheBalancerCatchesUp(bool crash)
    {
        await using var service = await BalancedService.StartAsync(_lab, desiredCount: 2);
        var group = service.Groups[0].TargetGroupArn;
        var before = await service.WaitForStatusAsync(s => s.Connected && s.Count(group, "healthy") == 2, "the balancer to see both targets healthy");
        await using var load = new SteadyLoad(service.Address, _output);
        await load.WaitForMoreAsync(50, "before the restart");
        // Stopped as systemd stops it, or killed as a crash would (nothing said goodbye to the watch streams).
        await _lab.StopSchedulerAsync(crash);
        try
        {
            // Fail static: the balancer keeps serving its last configuration and health while the scheduler is away.
            await service.WaitForStatusAsync(s => !s.Connected, "the balancer to lose the scheduler");
            var serving = await service.WaitForStatusAsync(s => true, "the balancer's status");
            Assert.Equal(2, serving.Count(group, "healthy"));
            await load.WaitForMoreAsync(1000, "while the scheduler is down");
        }
        finally
        {
            await _lab.StartSchedulerAgainAsync();
        }

        await _lab.WaitForConnectedAgentsAsync(3);
        // A new scheduler process draws a new epoch: the balancer resyncs with a snapshot.
        await service.WaitForStatusAsync(s => s.Connected && s.Epoch != before.Epoch, "the balancer to resync with the restarted scheduler", TimeSpan.FromSeconds(90));
        await load.WaitForMoreAsync(50, "after the restart");

        // A change made after the restart reaches the balancer: the scale-out's target is registered and routed to.
        await _lab.Services.UpdateServiceAsync(new UpdateServiceRequest { Cluster = LabPlatform.Cluster, Service = service.Name, DesiredCount = 3 }, _lab.Admin);
        await _lab.WaitForSteadyAsync(service.Name, 3, TimeSpan.FromMinutes(3));
        await service.WaitForStatusAsync(s => s.Count(group, "healthy") == 3, "the new task's target to be healthy at the balancer");
        await load.WaitForMoreAsync(50, "after the scale-out");

        var result = await load.StopAsync();
        Assert.True(result.Total > 1100, $"only {result.Total} requests");
        Assert.Empty(result.Failures);
    }

    [Fact]
    public async Task ConfigurationChanges_UnderLoad_FailNoRequest()
    {
        // Two target groups with the same service's tasks: the listener forwards to the first, a canary rule to the second.
        await using var service = await BalancedService.StartAsync(_lab, desiredCount: 2, groups: 2);
        var (a, b) = (service.Groups[0].TargetGroupArn, service.Groups[1].TargetGroupArn);
        var start = await service.WaitForStatusAsync(s => s.Count(a, "healthy") == 2 && s.Count(b, "healthy") == 2, "both groups' targets to be healthy at the balancer");
        var rules = start.Listeners.Single().Rules;
        await using var load = new SteadyLoad(service.Address, _output);
        await load.WaitForMoreAsync(50, "before the changes");

        async Task ChangeAsync(string what, Func<Task> change, Func<BalancerStatus, bool>? applied = null)
        {
            var version = (await service.WaitForStatusAsync(s => s.Connected, "the balancer's status")).Version;
            await change();
            await service.WaitForStatusAsync(s => s.Version > version && (applied?.Invoke(s) ?? true), $"the balancer to apply {what}");
            await load.WaitForMoreAsync(100, "after " + what);
        }

        Rule? rule = null;
        await ChangeAsync("a new rule of higher priority forwarding to both groups", async () =>
            rule = (await _lab.LoadBalancing.CreateRuleAsync(new CreateRuleRequest
            {
                ListenerArn = service.ListenerArn,
                Priority = 10,
                Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { "/*" } } } },
                Actions = { BalancedService.Forward((a, 1), (b, 1)) },
            }, _lab.Admin)).Rule, s => s.Listeners.Single().Rules == rules + 1);
        await ChangeAsync("a health-check change of the first group", () =>
            _lab.LoadBalancing.ModifyTargetGroupAsync(new ModifyTargetGroupRequest
            {
                TargetGroupArn = a,
                HealthCheck = new HealthCheck { Path = "/index.html", IntervalSeconds = 6, HealthyThresholdCount = 3 },
            }, _lab.Admin).ResponseAsync,
            // Its targets are healthy under the new settings.
            s => s.Count(a, "healthy") == 2);
        await ChangeAsync("the weights moved to the second group", () =>
            _lab.LoadBalancing.ModifyRuleAsync(new ModifyRuleRequest { RuleArn = rule!.RuleArn, Actions = { BalancedService.Forward((a, 0), (b, 1)) } }, _lab.Admin).ResponseAsync);
        await ChangeAsync("the second group's algorithm", () =>
            _lab.LoadBalancing.ModifyTargetGroupAttributesAsync(new ModifyTargetGroupAttributesRequest
            {
                TargetGroupArn = b,
                Attributes = new TargetGroupAttributes { Algorithm = LoadBalancingAlgorithm.LeastOutstandingRequests },
            }, _lab.Admin).ResponseAsync);
        await ChangeAsync("the listener's default action to the second group", () =>
            _lab.LoadBalancing.ModifyListenerAsync(new ModifyListenerRequest { ListenerArn = service.ListenerArn, DefaultActions = { BalancedService.Forward(b) } }, _lab.Admin).ResponseAsync);
        await ChangeAsync("the rule deleted", () =>
            _lab.LoadBalancing.DeleteRuleAsync(new DeleteRuleRequest { RuleArn = rule!.RuleArn }, _lab.Admin).ResponseAsync, s => s.Listeners.Single().Rules == rules);

        var result = await load.StopAsync();
        Assert.True(result.Total > 500, $"only {result.Total} requests");
        Assert.Empty(result.Failures);
    }

    [Fact]
    public async Task SigkillOfATasksContainer_UnderLoad_FailsAtMostTheRequestsInFlightOnIt_AndIsReplaced()
    {
        await using var service = await BalancedService.StartAsync(_lab, desiredCount: 3);
        var group = service.Groups[0].TargetGroupArn;
        await service.WaitForStatusAsync(s => s.Count(group, "healthy") == 3, "the balancer to see three healthy targets");
        var victim = (await _lab.ServiceTasksAsync(service.Name))[0];
        var host = await _lab.HostOfAsync(victim);
        var container = (await _lab.Lab.DockerAsync(host, "ps", "-q", "--filter", $"label=berth.task-id={victim.TaskId}")).EnsureSuccess("docker ps").StandardOutput.Trim();
        Assert.NotEmpty(container);

        await using var load = new SteadyLoad(service.Address, _output);
        await load.WaitForMoreAsync(100, "before the kill");
        // docker wait, begun before the kill, returns once the container is dead: an upper bound on the moment it died.
        var exited = _lab.Lab.DockerAsync(host, "wait", container);
        var killedAt = DateTimeOffset.UtcNow;
        (await _lab.Lab.DockerAsync(host, "kill", "-s", "KILL", container)).EnsureSuccess("docker kill");
        await exited;
        var deadBy = DateTimeOffset.UtcNow;
        await load.WaitForMoreAsync(100, "after the kill");

        // The service replaces the task; its target leaves the group.
        await TaskTimeouts.WaitUntilAsync(async () => (await _lab.ServiceTasksAsync(service.Name)).TrueForAll(t => t.TaskArn != victim.TaskArn), TimeSpan.FromMinutes(1), "the killed task to stop");
        var tasks = await _lab.WaitForSteadyAsync(service.Name, 3, TimeSpan.FromMinutes(3));
        Assert.DoesNotContain(tasks, t => t.TaskArn == victim.TaskArn);
        await service.WaitForStatusAsync(s => s.Count(group, "healthy") == 3 && s.Targets.Count(t => t.TargetGroupArn == group) == 3, "the replacement's target to be the group's third");
        await load.WaitForMoreAsync(100, "after the replacement");

        var result = await load.StopAsync();
        _output.WriteLine($"killed at {killedAt:HH:mm:ss.fff}, dead by {deadBy:HH:mm:ss.fff}");
        Assert.True(result.Total > 300, $"only {result.Total} requests");
        // The bound: only a request in flight on the container when it died may fail. Each of the load's workers has at
        // most one request outstanding, so at most that many were in flight on it, and each was sent before it died; a
        // request sent afterwards finds the target refusing and is retried by the balancer on another (passive health),
        // or goes elsewhere once the target is ejected or removed.
        Assert.True(result.Failures.Count <= SteadyLoad.Workers, $"{result.Failures.Count} failed: {string.Join("; ", result.Failures)}");
        Assert.All(result.Failures, f => Assert.True(f.Sent <= deadBy && f.Failed >= killedAt, $"a request not in flight when the container died failed: {f}"));
    }
}

using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.Security;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.HostGroups;

/// <summary>
/// Host groups end to end in one scheduler on a fake clock: the HostGroups API over real gRPC, the reconciler making and
/// retiring hosts through <see cref="HostProvisioning"/> over a fake provisioner whose hosts are simulated agents that
/// register with their one-use join tokens.
/// </summary>
public sealed class HostGroupReconcilerTests(ITestOutputHelper output) : HostGroupTest(output)
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 16, 0, 0, TimeSpan.Zero));

    private protected override TimeProvider? Time => _time;

    // Simulated agents send no heartbeats on the fake clock: only the lost-host test moves it past these.
    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Scheduler:HeartbeatInterval"] = "00:10:00",
        ["Scheduler:LostHostGracePeriod"] = "00:00:30",
        ["HostGroups:Interval"] = "1.00:00:00",
    };

    private HostGroupReconciler Reconciler => Host.Services.GetRequiredService<HostGroupReconciler>();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // The loop's first pass (woken at start) is over before a test makes a group: otherwise it can see the new
        // group, and the group's own wake runs a second pass right after it (a failed launch tried twice, say).
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Reconciler.Passes >= 1), what: "the reconciler's first pass");
    }

    private protected override void ConfigureProvisioning(IServiceCollection services) => services.Configure<ProvisioningOptions>(o =>
    {
        o.CreateAttempts = 1;
        o.RetryBackoff = TimeSpan.Zero;
        o.MaxRetryBackoff = TimeSpan.Zero;
    });

    [Fact]
    public async Task Create_LaunchesTheDesiredHosts_BalancedOverTheZones_EachRegisteringWithItsOwnOneUseToken()
    {
        var arn = (await Groups.CreateHostGroupAsync(new CreateHostGroupRequest
        {
            Name = "web",
            MinSize = 1,
            MaxSize = 5,
            DesiredCapacity = 3,
            InstanceType = "lab.small",
            Zones = { "a", "b" },
            Attributes = { ["team"] = "blue" },
        }, Host.Admin)).HostGroupArn;
        Assert.Matches("^arn:berth:autoscaling:local:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName/web$", arn);

        var group = await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 3, "three hosts in service");

        // Zones: a, b, then a again (the zone with fewest, ties to the first listed).
        Assert.Equal(["a", "a", "b"], group.Hosts.Select(h => h.Zone).Order(StringComparer.Ordinal));
        var instances = await InstancesAsync();
        Assert.Equal(3, instances.Count);
        foreach (var host in group.Hosts)
        {
            Assert.StartsWith("web-", host.Name, StringComparison.Ordinal);
            var instance = Assert.Single(instances, i => i.ContainerInstanceArn == host.ContainerInstanceArn);
            Assert.Contains(instance.Attributes, a => a.Name == HostRequest.HostNameAttribute && a.Value == host.Name);
            Assert.Contains(instance.Attributes, a => a.Name == "team" && a.Value == "blue");
            Assert.Contains(instance.Attributes, a => a.Name == "berth.zone" && a.Value == host.Zone);
            Assert.Contains(instance.Attributes, a => a.Name == "berth.instance-type" && a.Value == "lab.small");
        }

        // One token per host, each void once used: registering again with one is refused; the cluster's token still works.
        var tokens = Provisioner.Tokens.Values.ToList();
        Assert.Equal(3, tokens.Distinct().Count());
        Assert.DoesNotContain(Host.JoinToken, tokens);
        var reuse = await Assert.ThrowsAsync<RpcException>(() => Host.Agents.RegisterAsync(new RegisterRequest { JoinToken = tokens[0], Facts = SimulatedAgent.DefaultFacts() }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, reuse.StatusCode);
        Assert.Contains("one-use join token is not valid", reuse.Status.Detail, StringComparison.Ordinal);
        await using (await SimulatedAgent.RegisterAsync(Host, connect: false))
        {
        }

        Assert.Equal(0, Host.Services.GetRequiredService<HostJoinTokens>().Outstanding);

        var activities = await ActivitiesAsync("web");
        Assert.Equal(3, activities.Count);
        Assert.All(activities, a => Assert.Equal("Successful", a.StatusCode));
        Assert.Equal(
            "At 2026-12-04T16:00:00Z a user request created an AutoScalingGroup changing the desired capacity from 0 to 3. At 2026-12-04T16:00:00Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 1.",
            activities[^1].Cause);
        Assert.StartsWith("Launching a new host: web-", activities[0].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingCreate_IsAFailedActivityWithTheProvisionersWords_AndItsHalfMadeInstanceIsDeregistered()
    {
        // The host's agent registers, then the provisioner fails (a timeout after the registration, as docs/provisioning.md warns).
        Provisioner.OnCreate = async (request, _) =>
        {
            await Provisioner.RegisterAsync(request, connect: false);
            throw new ProvisionerException($"lab create {request.Name} failed (exit 1).", ProvisionerErrorKind.Failed, "host.sh: dockerd did not answer");
        };

        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 1 }, Host.Admin);

        var failed = await WaitForActivityAsync("web", a => a.StatusCode == "Failed", "a failed launch");
        Assert.Contains("failed (exit 1).", failed.StatusMessage, StringComparison.Ordinal);
        Assert.Contains("host.sh: dockerd did not answer", failed.StatusMessage, StringComparison.Ordinal);
        Assert.NotNull(failed.EndTime);
        var name = failed.Description["Launching a new host: ".Length..];
        // HostProvisioning destroyed the attempt; the reconciler deregistered what its agent had registered.
        Assert.Contains($"destroy {name}", Provisioner.Calls);
        Assert.DoesNotContain(await InstancesAsync(), i => i.Status == ContainerInstanceStatus.Active);
        var group = await DescribeGroupAsync("web");
        Assert.DoesNotContain(group.Hosts, h => h.Name == name);

        // The next pass tries again, and a working provisioner gives the group its host.
        Provisioner.OnCreate = null;
        await Reconciler.RunOnceAsync(CancellationToken.None).WithTimeout();
        await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 1, "a host in service after the failure");
    }

    [Fact]
    public async Task CreateTimingOut_IsAFailedActivity_AndLeavesNoHostNorToken()
    {
        Provisioner.OnCreate = (request, _) => throw new ProvisionerException($"lab create {request.Name} timed out after 00:05:00.", ProvisionerErrorKind.TimedOut, "waiting for the agent to register");

        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 0, MaxSize = 2, DesiredCapacity = 1 }, Host.Admin);

        var failed = await WaitForActivityAsync("web", a => a.StatusCode == "Failed", "a timed-out launch");
        Assert.Contains("timed out after 00:05:00", failed.StatusMessage, StringComparison.Ordinal);
        Assert.Empty((await DescribeGroupAsync("web")).Hosts);
        Assert.Equal(0, Host.Services.GetRequiredService<HostJoinTokens>().Outstanding);
        Assert.Empty(await InstancesAsync());
    }

    [Fact]
    public async Task AProvisionerThrowingOutsideItsContract_IsAFailedLaunch_AndTheLoopLivesOn()
    {
        // Not a ProvisionerException: before, it escaped the reconciler's loop and stopped the whole scheduler.
        Provisioner.OnCreate = (request, _) => throw new InvalidOperationException("a provisioner bug");

        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 1 }, Host.Admin);

        var failed = await WaitForActivityAsync("web", a => a.StatusCode == "Failed", "a failed launch");
        Assert.Contains("the provisioner failed unexpectedly: InvalidOperationException: a provisioner bug", failed.StatusMessage, StringComparison.Ordinal);
        var name = failed.Description["Launching a new host: ".Length..];
        Assert.Contains($"destroy {name}", Provisioner.Calls);

        // The loop's next tick launches again, and a working provisioner gives the group its host.
        Provisioner.OnCreate = null;
        _time.Advance(TimeSpan.FromDays(1));
        await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 1, "a host in service from the loop's next pass");
    }

    [Fact]
    public async Task LostHost_IsReplacedOnlyAfterTheGracePeriod_AndItsInstanceIsDeregistered()
    {
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 1, HealthCheckGracePeriod = 120 }, Host.Admin);
        var first = (await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 1, "one host")).Hosts[0];

        // Its agent goes silent.
        await Provisioner.SilenceAsync(first.Name);
        await TaskTimeouts.WaitUntilAsync(async () => !(await InstancesAsync()).Single().AgentConnected, what: "the agent's session to end");

        // Lost (silent past 30 s) but inside the 120 s grace period: kept.
        _time.Advance(TimeSpan.FromSeconds(60));
        await Reconciler.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.Equal([first.Name], (await DescribeGroupAsync("web")).Hosts.Select(h => h.Name));

        // Past the grace period: taken out of service, destroyed, deregistered, replaced.
        _time.Advance(TimeSpan.FromSeconds(61));
        await Reconciler.RunOnceAsync(CancellationToken.None).WithTimeout();
        var group = await WaitForGroupAsync("web", g => g.Hosts.Count == 1 && g.Hosts[0].Name != first.Name && g.Hosts[0].LifecycleState == "InService", "a replacement");
        Assert.Contains($"destroy {first.Name}", Provisioner.Calls);
        var instances = await InstancesAsync("INACTIVE");
        Assert.Contains(instances, i => i.ContainerInstanceArn == first.ContainerInstanceArn);
        var activities = await ActivitiesAsync("web");
        var terminated = Assert.Single(activities, a => a.Description == $"Terminating host: {first.Name}");
        Assert.Equal("Successful", terminated.StatusCode);
        Assert.Contains("an instance was taken out of service in response to a health check indicating its container instance was lost", terminated.Cause, StringComparison.Ordinal);
        Assert.Equal($"Launching a new host: {group.Hosts[0].Name}", activities[0].Description);
    }

    [Fact]
    public async Task ScaleIn_TerminatesTheHostWithoutTasks_ThenDrainsTheOneWithTasksBeforeTerminatingIt()
    {
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 0, MaxSize = 2, DesiredCapacity = 2, Zones = { "a", "b" } }, Host.Admin);
        var hosts = (await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 2, "two hosts")).Hosts;
        // The zone-b host runs a task; zone a's is newer or older, it does not matter: the one without tasks goes first.
        var busy = hosts.Single(h => h.Zone == "b");
        var idle = hosts.Single(h => h.Zone == "a");
        await using var autopilot = new AgentAutopilot(Provisioner.Agent(busy.Name)!);
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Worker() }, Host.Admin);
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest
        {
            TaskDefinition = "worker",
            PlacementConstraints = { new PlacementConstraint { Type = "memberOf", Expression = $"attribute:{HostRequest.HostNameAttribute} == {busy.Name}" } },
        }, Host.Admin)).Tasks.Single();

        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "web", DesiredCapacity = 1 }, Host.Admin);
        var group = await WaitForGroupAsync("web", g => g.Hosts.Count == 1, "scale-in to one host");
        Assert.Equal(busy.Name, group.Hosts.Single().Name);
        var scaleIn = (await ActivitiesAsync("web"))[0];
        Assert.Equal($"Terminating host: {idle.Name}", scaleIn.Description);
        Assert.Equal(
            $"At 2026-12-04T16:00:00Z a user request update of AutoScalingGroup constraints to min: 0, max: 2, desired: 1 changing the desired capacity from 2 to 1. At 2026-12-04T16:00:00Z an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 2 to 1. At 2026-12-04T16:00:00Z host {idle.Name} was selected for termination.",
            scaleIn.Cause);

        // Down to 0: the last host runs a task, so it drains first (Terminating:Wait, its instance DRAINING) and stays.
        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "web", DesiredCapacity = 0 }, Host.Admin);
        group = await WaitForGroupAsync("web", g => g.Hosts.Single().LifecycleState == "Terminating:Wait", "the busy host draining");
        Assert.Equal(ContainerInstanceStatus.Draining, (await InstancesAsync()).Single(i => i.ContainerInstanceArn == busy.ContainerInstanceArn).Status);
        Assert.DoesNotContain($"destroy {busy.Name}", Provisioner.Calls);

        // Its task stops: the next pass terminates it.
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn, Reason = "done" }, Host.Admin);
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            await Reconciler.RunOnceAsync(CancellationToken.None);
            return (await DescribeGroupAsync("web")).Hosts.Count == 0;
        }, what: "the drained host terminated");
        Assert.Contains($"destroy {busy.Name}", Provisioner.Calls);
        Assert.DoesNotContain(await InstancesAsync(), i => i.Status != ContainerInstanceStatus.Inactive);
    }

    [Fact]
    public async Task AfterARestart_TheInterruptedLaunchAndTheStrayHostAreDestroyed_AndTheGroupIsMadeWhole()
    {
        // A create that hangs until the scheduler stops.
        var hanging = new TaskCompletionSource();
        Provisioner.OnCreate = async (request, token) =>
        {
            hanging.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
            throw new InvalidOperationException("unreachable");
        };
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 1 }, Host.Admin);
        await hanging.Task.WithTimeout();
        var interrupted = (await DescribeGroupAsync("web")).Hosts.Single();
        Assert.Equal("Pending", interrupted.LifecycleState);

        await RestartAsync(() =>
        {
            Provisioner.OnCreate = null;
            // Something the provisioner has and no group owns (a create whose record never became durable, say).
            Provisioner.AddStray("stray-1", ProvisionedHostState.Running);
        });

        var group = await WaitForGroupAsync("web", g => g.Hosts.Count == 1 && g.Hosts[0].LifecycleState == "InService" && g.Hosts[0].Name != interrupted.Name, "a new host after the restart");
        Assert.Contains("destroy stray-1", Provisioner.Calls);
        Assert.Contains($"destroy {interrupted.Name}", Provisioner.Calls);
        Assert.Equal([group.Hosts[0].Name], Provisioner.Names);
        // The launch right after the restart got the address the scheduler bound, not the configured port 0 (a pass
        // that ran before the server listened once handed the host "http://127.0.0.1:0", where it never registered).
        Assert.NotEqual(0, Provisioner.Requests[group.Hosts[0].Name].SchedulerUrl.Port);
        var activities = await ActivitiesAsync("web");
        Assert.Contains(activities, a => a.Description == $"Launching a new host: {interrupted.Name}" && a.StatusCode == "Cancelled");
        Assert.Contains(activities, a => a.Description == $"Terminating host: {interrupted.Name}" && a.StatusCode == "Successful"
            && a.Cause.Contains("its launch was interrupted by a scheduler restart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadInput_IsRefusedInAutoScalingsWords_AndChangesNothing()
    {
        async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

        var e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 3, DesiredCapacity = 5 }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "ValidationError: Desired capacity:5 must be between the specified min size:1 and max size:3"), (e.StatusCode, e.Status.Detail));
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 3, MaxSize = 1 }, Host.Admin).ResponseAsync);
        Assert.Equal("ValidationError: Max bound, 1, must be greater than or equal to min bound, 3.", e.Status.Detail);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = -1, MaxSize = 1 }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MaxSize = 1, Zones = { "a b" } }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationError: zone: 'a b' may hold only", e.Status.Detail, StringComparison.Ordinal);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MaxSize = 1, Zones = { "a", "a" } }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationError: AvailabilityZones", e.Status.Detail, StringComparison.Ordinal);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "bad name", MaxSize = 1 }, Host.Admin).ResponseAsync);
        Assert.StartsWith("ValidationError: AutoScalingGroupName", e.Status.Detail, StringComparison.Ordinal);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Cluster = "nowhere", Name = "web", MaxSize = 1 }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Empty((await Groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest(), Host.Admin)).HostGroups);

        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 3 }, Host.Admin);
        e = await Refused(() => Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 1, MaxSize = 3 }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.AlreadyExists, "AlreadyExists: AutoScalingGroup by this name already exists - A group with the name web already exists"), (e.StatusCode, e.Status.Detail));
        e = await Refused(() => Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "web", DesiredCapacity = 4 }, Host.Admin).ResponseAsync);
        Assert.Equal("ValidationError: Desired capacity:4 must be between the specified min size:1 and max size:3", e.Status.Detail);
        e = await Refused(() => Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "nope", DesiredCapacity = 1 }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, "ValidationError: AutoScalingGroup name not found - AutoScalingGroup 'nope' not found"), (e.StatusCode, e.Status.Detail));

        // A group with hosts is not deleted without force.
        await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 1, "one host");
        e = await Refused(() => Groups.DeleteHostGroupAsync(new DeleteHostGroupRequest { Name = "web" }, Host.Admin).ResponseAsync);
        Assert.Equal((StatusCode.FailedPrecondition, "ResourceInUse: You cannot delete an AutoScalingGroup while there are instances still in the group."), (e.StatusCode, e.Status.Detail));
        Assert.Equal((1, 3, 1), await SizeAsync("web"));

        // With force its hosts go (their instances deregistered), then the group.
        await Groups.DeleteHostGroupAsync(new DeleteHostGroupRequest { Name = "web", ForceDelete = true }, Host.Admin);
        await TaskTimeouts.WaitUntilAsync(async () => (await Groups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest(), Host.Admin)).HostGroups.Count == 0, what: "the group deleted");
        Assert.Empty(Provisioner.Names);
        Assert.DoesNotContain(await InstancesAsync(), i => i.Status != ContainerInstanceStatus.Inactive);
    }

    [Fact]
    public async Task UpdatingTheMinimumAboveTheDesiredCapacity_RaisesIt_AndTheGroupSurvivesARestart()
    {
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = "web", MinSize = 0, MaxSize = 4, Zones = { "a" }, Attributes = { ["team"] = "blue" }, HealthCheckGracePeriod = 60 }, Host.Admin);
        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "web", MinSize = 2 }, Host.Admin);
        Assert.Equal((2, 4, 2), await SizeAsync("web"));
        var before = await WaitForGroupAsync("web", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 2, "two hosts");

        await RestartAsync();

        var after = await DescribeGroupAsync("web");
        Assert.Equal(before.HostGroupArn, after.HostGroupArn);
        Assert.Equal(["a"], after.Zones);
        Assert.Equal(("blue", 60), (after.Attributes["team"], after.HealthCheckGracePeriod));
        Assert.Equal(before.Hosts.Select(h => (h.Name, h.ContainerInstanceArn)), after.Hosts.Select(h => (h.Name, h.ContainerInstanceArn)));
        Assert.Equal(before.Hosts.Count, (await ActivitiesAsync("web")).Count);
        Assert.Contains("constraints to min: 2, max: 4, desired: 2 changing the desired capacity from 0 to 2.", (await ActivitiesAsync("web"))[0].Cause, StringComparison.Ordinal);
    }

    private async Task<(int, int, int)> SizeAsync(string name)
    {
        var g = await DescribeGroupAsync(name);
        return (g.MinSize, g.MaxSize, g.DesiredCapacity);
    }


    private async Task<V1.HostGroupActivity> WaitForActivityAsync(string name, Func<V1.HostGroupActivity, bool> condition, string what)
    {
        V1.HostGroupActivity? found = null;
        await TaskTimeouts.WaitUntilAsync(async () => (found = (await ActivitiesAsync(name)).FirstOrDefault(condition)) is not null, what: what);
        return found!;
    }

    private async Task<List<ContainerInstance>> InstancesAsync(string status = "")
    {
        var arns = (await Host.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Status = status }, Host.Admin)).ContainerInstanceArns;
        return arns.Count == 0 ? [] : [.. (await Host.Instances.DescribeContainerInstancesAsync(new DescribeContainerInstancesRequest { ContainerInstances = { arns } }, Host.Admin)).ContainerInstances];
    }
}

using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Tests.HostGroups;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.CapacityProviders;

/// <summary>
/// Tasks that wait in PROVISIONING for a capacity provider's hosts, and managed scaling driving the provider's host group,
/// in one scheduler on a fake clock over real gRPC: the host group's hosts are simulated agents made by the fake
/// provisioner. The loops' own timers are a day apart: the tests move the clock and run passes themselves.
/// </summary>
public sealed class ProvisioningTests(ITestOutputHelper output) : HostGroupTest(output)
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 16, 0, 0, TimeSpan.Zero));

    private protected override TimeProvider? Time => _time;

    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Scheduler:HeartbeatInterval"] = "00:10:00",
        ["Scheduler:LostHostGracePeriod"] = "1.00:00:00",
        ["HostGroups:Interval"] = "1.00:00:00",
        ["CapacityProviders:Interval"] = "1.00:00:00",
    };

    private CapacityProviderReconciler Pass => Host.Services.GetRequiredService<CapacityProviderReconciler>();

    [Fact]
    public async Task RunTask_WithoutAHostInTheGroup_WaitsInProvisioningWithAReason_OutlivesARestart_AndIsPlacedWhenAHostRegisters()
    {
        // Max 0: managed scaling cannot grow the group, so only the user's update below brings a host.
        await ProviderAsync("c", max: 0);

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);

        Assert.Empty(run.Failures);
        Assert.Equal(2, run.Tasks.Count);
        Assert.All(run.Tasks, t =>
        {
            Assert.Equal((LifecycleStatus.Provisioning, LifecycleStatus.Running), (t.LastStatus, t.DesiredStatus));
            Assert.Equal("", t.ContainerInstanceArn);
            Assert.Equal("c-cp", t.CapacityProviderName);
            Assert.Equal("Waiting for capacity from capacity provider 'c-cp' (host group 'c'): No Container Instances were found in your capacity provider.", t.ProvisioningReason);
        });
        var arns = run.Tasks.Select(t => t.TaskArn).ToList();
        Assert.Equal(arns.Order(), (await Host.Tasks.ListTasksAsync(new ListTasksRequest { DesiredStatus = LifecycleStatus.Pending }, Host.Admin)).TaskArns.Order());

        await RestartAsync();

        var waiting = await DescribeAsync(arns);
        Assert.All(waiting, t => Assert.Equal(LifecycleStatus.Provisioning, t.LastStatus));
        Assert.All(waiting, t => Assert.StartsWith("Waiting for capacity from capacity provider 'c-cp'", t.ProvisioningReason, StringComparison.Ordinal));

        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "c", MaxSize = 1, DesiredCapacity = 1 }, Host.Admin);
        var host = (await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 1, "a host")).Hosts[0];

        // The host's registration is a committed change: the pass it wakes places both (they fit), oldest first.
        var placed = await WaitForTasksAsync(arns, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending), "both tasks placed");
        Assert.All(placed, t => Assert.Equal(host.ContainerInstanceArn, t.ContainerInstanceArn));
        Assert.All(placed, t => Assert.Equal("", t.ProvisioningReason));
        Assert.All(placed, t => Assert.NotEmpty(t.Containers.Single().NetworkBindings));
        // The agent is told: its desired state carries them.
        var agent = Provisioner.Agent(host.Name)!;
        await agent.WaitForDesiredAsync(d => arns.All(a => d.Tasks.Any(t => t.TaskArn == a)), "the host's agent to get both tasks");
    }

    [Fact]
    public async Task RunTask_BeyondTheRoomOfTheGroupsHosts_PlacesWhatFits_AndTheRestWaitsNamingTheMissingResource()
    {
        // One host of 4096 MiB, tasks of 3000, and a group that may not grow.
        await ProviderAsync("c", max: 1, desired: 1, memory: 3000);
        var host = (await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 1, "a host")).Hosts[0];

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);

        Assert.Empty(run.Failures);
        Assert.Equal(host.ContainerInstanceArn, Assert.Single(run.Tasks, t => t.LastStatus == LifecycleStatus.Pending).ContainerInstanceArn);
        var waiting = Assert.Single(run.Tasks, t => t.LastStatus == LifecycleStatus.Provisioning);
        Assert.Equal($"Waiting for capacity from capacity provider 'c-cp' (host group 'c'): The closest matching (container-instance {host.ContainerInstanceArn.Split('/')[^1]}) has insufficient memory available.", waiting.ProvisioningReason);

        // The placed task stops: its memory frees, and the waiting one takes it.
        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = run.Tasks.Single(t => t.LastStatus == LifecycleStatus.Pending).TaskArn }, Host.Admin);
        var agent = Provisioner.Agent(host.Name)!;
        await agent.ReportAsync(run.Tasks.Single(t => t.LastStatus == LifecycleStatus.Pending).TaskId, LifecycleStatus.Stopped);
        var placed = (await WaitForTasksAsync([waiting.TaskArn], ts => ts[0].LastStatus == LifecycleStatus.Pending, "the waiting task placed")).Single();
        Assert.Equal(host.ContainerInstanceArn, placed.ContainerInstanceArn);
    }

    [Fact]
    public async Task ATaskWaitingPastTheTimeout_IsStoppedWithTheReason_AndItsServiceRecordsAnEvent()
    {
        await ProviderAsync("c", max: 0);
        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "web", DesiredCount = 1, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);
        var serviceTask = (await WaitForServiceTasksAsync("api", 1)).Single();
        Assert.Equal(LifecycleStatus.Provisioning, serviceTask.LastStatus);
        var service = await DescribeServiceAsync("api");
        Assert.Equal((0, 1), (service.RunningCount, service.PendingCount));

        // 29 minutes: still waiting.
        _time.Advance(TimeSpan.FromMinutes(29));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.All(await DescribeAsync([run.Tasks[0].TaskArn, serviceTask.TaskArn]), t => Assert.Equal(LifecycleStatus.Provisioning, t.LastStatus));

        _time.Advance(TimeSpan.FromMinutes(1));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();

        var stopped = await DescribeAsync([run.Tasks[0].TaskArn, serviceTask.TaskArn]);
        Assert.All(stopped, t =>
        {
            Assert.Equal((LifecycleStatus.Stopped, LifecycleStatus.Stopped), (t.LastStatus, t.DesiredStatus));
            Assert.Equal(StopCode.TaskFailedToStart, t.StopCode);
            Assert.Equal(ProvisioningPass.TimeoutReason("c-cp", TimeSpan.FromMinutes(30)), t.StoppedReason);
            Assert.Equal("", t.ContainerInstanceArn);
        });
        Assert.Equal("Timeout waiting for capacity: capacity provider 'c-cp' had no container instance with room for the task within 30 minutes in PROVISIONING.", stopped[0].StoppedReason);
        service = await DescribeServiceAsync("api");
        Assert.Contains(service.Events, e => e.Message.StartsWith($"(service api) (task {serviceTask.TaskId}) was stopped: it waited 30 minutes in PROVISIONING for capacity.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopTask_OfAProvisioningTask_StopsItAtOnce()
    {
        await ProviderAsync("c", max: 0);
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin)).Tasks.Single();

        var answer = (await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn, Reason = "not needed" }, Host.Admin)).Task;

        Assert.Equal((LifecycleStatus.Stopped, LifecycleStatus.Stopped), (answer.LastStatus, answer.DesiredStatus));
        Assert.Equal((StopCode.UserInitiated, "not needed"), (answer.StopCode, answer.StoppedReason));
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest(), Host.Admin)).TaskArns);
    }

    [Fact]
    public async Task WithoutManagedScaling_ATaskWithoutCapacityFailsAtOnce_AsInEcs()
    {
        await ProviderAsync("c", max: 0, managedScaling: false);

        var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);

        Assert.Empty(run.Tasks);
        Assert.Equal("Capacity provider 'c-cp' has no registered hosts (host group 'c').", Assert.Single(run.Failures).Detail);
    }

    [Fact]
    public async Task ManagedScaling_GrowsTheGroupFromZero_ForTheWaitingTasks_WhichThenArePlaced()
    {
        // One task per host (3000 of 4096 MiB), no warm-up: two waiting tasks need two hosts.
        await ProviderAsync("c", max: 3, memory: 3000);
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "web", DesiredCount = 2, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);
        await WaitForServiceTasksAsync("api", 2);

        // No host to measure: the minimum step (1). Reservation: N = 0 and M > 0 is 200. Once that host registers (a
        // committed change wakes the pass), one task fits on it, the other still lacks memory, and the same pass measures
        // the host (M = 1 busy + 1 needed = 2 of N = 1: 200) and asks for a second.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var group = await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService") == 2, "two hosts");
        Assert.Equal(2, group.DesiredCapacity);
        var launches = (await ActivitiesAsync("c")).Where(a => a.Description.StartsWith("Launching", StringComparison.Ordinal)).Reverse().ToList();
        Assert.Equal(2, launches.Count);
        Assert.StartsWith("At 2026-12-04T16:00:00Z a monitor alarm TargetTracking-c-cp-AlarmHigh in state ALARM triggered policy ECSManagedAutoScalingPolicy-c-cp (capacity provider c-cp: CapacityProviderReservation 200 > target 100, 2 tasks in PROVISIONING) changing the desired capacity from 0 to 1.", launches[0].Cause, StringComparison.Ordinal);
        Assert.StartsWith("At 2026-12-04T16:00:00Z a monitor alarm TargetTracking-c-cp-AlarmHigh in state ALARM triggered policy ECSManagedAutoScalingPolicy-c-cp (capacity provider c-cp: CapacityProviderReservation 200 > target 100, 1 tasks in PROVISIONING) changing the desired capacity from 1 to 2.", launches[1].Cause, StringComparison.Ordinal);

        var tasks = await WaitForServiceTasksAsync("api", 2, ts => ts.All(t => t.LastStatus == LifecycleStatus.Pending));
        Assert.Equal(group.Hosts.Select(h => h.ContainerInstanceArn).Order(), tasks.Select(t => t.ContainerInstanceArn).Order());

        // Steady at 100: nothing more.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(2, (await DescribeGroupAsync("c")).DesiredCapacity);
    }

    [Fact]
    public async Task ManagedScaling_ScalesInOnlyAfterTheLowPeriod_AndProtectionKeepsTheHostWithTasks()
    {
        await ProviderAsync("c", max: 2, desired: 2, protection: true);
        var hosts = (await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 2, "two hosts")).Hosts;
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin)).Tasks.Single();
        var busy = hosts.Single(h => h.ContainerInstanceArn == task.ContainerInstanceArn);
        var idle = hosts.Single(h => h != busy);

        // M = 1 of N = 2: 50 < 100, but only for 14 minutes so far.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        _time.Advance(TimeSpan.FromMinutes(14));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(2, (await DescribeGroupAsync("c")).DesiredCapacity);

        _time.Advance(TimeSpan.FromMinutes(1));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        var group = await WaitForGroupAsync("c", g => g.Hosts.Count == 1, "scale-in to one host");
        Assert.Equal((1, busy.Name), (group.DesiredCapacity, group.Hosts.Single().Name));
        var scaleIn = (await ActivitiesAsync("c"))[0];
        Assert.Equal($"Terminating host: {idle.Name}", scaleIn.Description);
        Assert.StartsWith("At 2026-12-04T16:15:00Z a monitor alarm TargetTracking-c-cp-AlarmLow in state ALARM triggered policy ECSManagedAutoScalingPolicy-c-cp (capacity provider c-cp: CapacityProviderReservation 50 < target 100) changing the desired capacity from 2 to 1.", scaleIn.Cause, StringComparison.Ordinal);

        // A user asks for 0: managed termination protection keeps the host with a task, and the group's desired capacity
        // stays at 1.
        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "c", DesiredCapacity = 0 }, Host.Admin);
        await Host.Services.GetRequiredService<HostGroupReconciler>().RunOnceAsync(CancellationToken.None).WithTimeout();
        group = await DescribeGroupAsync("c");
        Assert.Equal((1, "InService"), (group.DesiredCapacity, group.Hosts.Single().LifecycleState));
        Assert.DoesNotContain($"destroy {busy.Name}", Provisioner.Calls);
    }

    [Fact]
    public async Task ManagedScaling_TheLowPeriod_OutlivesARestart()
    {
        await ProviderAsync("c", max: 2, desired: 2, protection: true);
        var hosts = (await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 2, "two hosts")).Hosts;
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin)).Tasks.Single();
        var idle = hosts.Single(h => h.ContainerInstanceArn != task.ContainerInstanceArn);

        // 50 < 100 from 16:00; ten minutes in, the scheduler restarts.
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        _time.Advance(TimeSpan.FromMinutes(10));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();
        await RestartAsync();

        // Five minutes after the restart the 15 minutes since 16:00 are over: the wait went on, it did not start again.
        _time.Advance(TimeSpan.FromMinutes(5));
        await Pass.RunOnceAsync(CancellationToken.None).WithTimeout();

        var group = await WaitForGroupAsync("c", g => g.Hosts.Count == 1, "scale-in to one host");
        Assert.Equal(1, group.DesiredCapacity);
        var scaleIn = (await ActivitiesAsync("c"))[0];
        Assert.Equal($"Terminating host: {idle.Name}", scaleIn.Description);
        Assert.StartsWith("At 2026-12-04T16:15:00Z a monitor alarm TargetTracking-c-cp-AlarmLow in state ALARM", scaleIn.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProvisioningTasks_StopAtEcsQuotaOf500PerCluster_RunTaskPastItIsRefusedWhole_AndAServiceWaitsForRoom()
    {
        await ProviderAsync("c", max: 0);
        for (var i = 0; i < 50; i++)
        {
            var run = await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = i < 49 ? 10 : 9, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);
            Assert.Equal((i < 49 ? 10 : 9, 0), (run.Tasks.Count, run.Failures.Count));
        }

        // 499 wait: two more would pass ECS's quota, so neither is made; one more reaches it.
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", Count = 2, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin).ResponseAsync);
        Assert.Equal((Grpc.Core.StatusCode.FailedPrecondition, "ClientException: Tasks provisioning capacity limit exceeded."), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal(499, await WaitingAsync());
        var last = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin)).Tasks.Single();
        Assert.Equal(500, await WaitingAsync());
        refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin).ResponseAsync);
        Assert.Equal("ClientException: Tasks provisioning capacity limit exceeded.", refused.Status.Detail);

        // A service gets no waiting task past the quota and says why, in ECS's words; once a task leaves, it gets its own.
        await Host.ServicesApi.CreateServiceAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "web", DesiredCount = 1, CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin);
        await TaskTimeouts.WaitUntilAsync(
            async () => (await DescribeServiceAsync("api")).Events.Any(e => e.Message == "(service api) was unable to place a task. Reason: Tasks provisioning capacity limit exceeded."),
            what: "the service's event");
        Assert.Empty((await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = "api" }, Host.Admin)).TaskArns);

        await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = last.TaskArn }, Host.Admin);
        var waiting = (await WaitForServiceTasksAsync("api", 1)).Single();
        Assert.Equal(LifecycleStatus.Provisioning, waiting.LastStatus);
        Assert.Equal(500, await WaitingAsync());
    }

    [Fact]
    public async Task WithManagedDrainingDisabled_AHostWithTasksChosenForScaleIn_IsTerminatedWithoutDraining()
    {
        await ProviderAsync("c", max: 1, desired: 1, draining: false);
        var host = (await WaitForGroupAsync("c", g => g.Hosts.Count(h => h.LifecycleState == "InService" && h.ContainerInstanceArn.Length > 0) == 1, "a host")).Hosts[0];
        var task = (await Host.Tasks.RunTaskAsync(new RunTaskRequest { TaskDefinition = "web", CapacityProviderStrategy = { Item("c-cp") } }, Host.Admin)).Tasks.Single();
        Assert.Equal(host.ContainerInstanceArn, task.ContainerInstanceArn);

        await Groups.UpdateHostGroupAsync(new UpdateHostGroupRequest { Name = "c", DesiredCapacity = 0 }, Host.Admin);

        await WaitForGroupAsync("c", g => g.Hosts.Count == 0, "the host terminated");
        Assert.Equal($"Terminating host: {host.Name}", (await ActivitiesAsync("c"))[0].Description);
        Assert.Contains($"destroy {host.Name}", Provisioner.Calls);
        // Its task went with its instance's forced deregistration.
        Assert.Equal(LifecycleStatus.Stopped, (await DescribeAsync([task.TaskArn])).Single().DesiredStatus);
    }

    /// <summary>
    /// A host group (min 0) and a provider c-cp over it (managed scaling with no warm-up unless off), associated with the
    /// cluster, and the task definition web.
    /// </summary>
    private async Task ProviderAsync(string group, int max, int desired = 0, bool managedScaling = true, bool protection = false, int memory = 512, bool draining = true)
    {
        await Host.TaskDefinitions.RegisterTaskDefinitionAsync(new RegisterTaskDefinitionRequest { TaskDefinitionJson = TaskDefinitionSamples.Web(memory: memory) }, Host.Admin);
        await Groups.CreateHostGroupAsync(new CreateHostGroupRequest { Name = group, MinSize = 0, MaxSize = max, DesiredCapacity = desired }, Host.Admin);
        await Providers.CreateCapacityProviderAsync(new CreateCapacityProviderRequest
        {
            Name = group + "-cp",
            AutoScalingGroupProvider = new AutoScalingGroupProvider
            {
                AutoScalingGroupArn = group,
                ManagedScaling = new V1.ManagedScaling { Status = managedScaling ? "ENABLED" : "DISABLED", InstanceWarmupPeriod = 0 },
                ManagedTerminationProtection = protection ? "ENABLED" : "DISABLED",
                ManagedDraining = draining ? "ENABLED" : "DISABLED",
            },
        }, Host.Admin);
        await Providers.PutClusterCapacityProvidersAsync(new PutClusterCapacityProvidersRequest { CapacityProviders = { group + "-cp" } }, Host.Admin);
    }

    /// <summary>The tasks waiting in PROVISIONING for c-cp, as DescribeCapacityProviders counts them.</summary>
    private async Task<int> WaitingAsync() =>
        (await Providers.DescribeCapacityProvidersAsync(new DescribeCapacityProvidersRequest { CapacityProviders = { "c-cp" } }, Host.Admin)).CapacityProviders.Single().ProvisioningTasks;

    private async Task<List<TaskInfo>> DescribeAsync(IEnumerable<string> arns) =>
        [.. (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { arns } }, Host.Admin)).Tasks];

    private async Task<List<TaskInfo>> WaitForTasksAsync(IReadOnlyList<string> arns, Func<List<TaskInfo>, bool> condition, string what)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(async () => condition(tasks = await DescribeAsync(arns)), what: what);
        return tasks;
    }

    private async Task<List<TaskInfo>> WaitForServiceTasksAsync(string service, int count, Func<List<TaskInfo>, bool>? condition = null)
    {
        List<TaskInfo> tasks = [];
        await TaskTimeouts.WaitUntilAsync(
            async () =>
            {
                var arns = (await Host.Tasks.ListTasksAsync(new ListTasksRequest { ServiceName = service }, Host.Admin)).TaskArns;
                tasks = arns.Count == 0 ? [] : await DescribeAsync(arns);
                return tasks.Count == count && (condition?.Invoke(tasks) ?? true);
            },
            what: $"{count} tasks of service {service}");
        return tasks;
    }

    private async Task<ServiceInfo> DescribeServiceAsync(string name) =>
        (await Host.ServicesApi.DescribeServicesAsync(new DescribeServicesRequest { Services = { name } }, Host.Admin)).Services.Single();

    private static CapacityProviderStrategyItem Item(string provider) => new() { CapacityProvider = provider, Weight = 1 };
}

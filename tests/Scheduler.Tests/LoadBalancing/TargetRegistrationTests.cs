using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// Where service tasks' targets point and when they leave their groups: awsvpc tasks as ip targets, the agent's
/// advertised address, StopTask, lost hosts and removed links. The real scheduler over real gRPC, simulated agents and a
/// fake balancer replica.
/// </summary>
public sealed class TargetRegistrationTests(ITestOutputHelper output) : ServiceTest(output)
{
    private const string Awsvpc = """
        {"family":"api","networkMode":"awsvpc","cpu":"256","memory":"512",
         "containerDefinitions":[{"name":"app","image":"registry.local/api:1","portMappings":[{"containerPort":8080}]}]}
        """;

    private FakeBalancer? _replica;

    private V1.LoadBalancing.LoadBalancingClient Api => new(Host.Channel);

    public override async Task DisposeAsync()
    {
        if (_replica is not null)
        {
            await _replica.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>A load balancer whose listener forwards to the group <c>web</c> (instance) and, under /api, to <c>api</c> (ip).</summary>
    private async Task<(TargetGroup Web, TargetGroup Api, FakeBalancer Replica)> BalancerAsync()
    {
        var lb = (await Api.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front" }, Host.Admin)).LoadBalancer;
        var web = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web", Port = 80, HealthCheck = new HealthCheck { Path = "/health" } }, Host.Admin)).TargetGroup;
        var api = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "api", Port = 8080, TargetType = "ip" }, Host.Admin)).TargetGroup;
        var listener = (await Api.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = "front",
            Port = 8080,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { Forward("web") },
        }, Host.Admin)).Listener;
        await Api.CreateRuleAsync(new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = 10,
            Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { "/api/*" } } } },
            Actions = { Forward("api") },
        }, Host.Admin);
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = lb.LoadBalancerArn }, Host.Admin)).Credential;
        var replica = _replica = await FakeBalancer.ConnectAsync(Host, credential, lb.LoadBalancerArn);
        await replica.WaitForAsync(b => b.Config is not null, "the snapshot");
        return (web, api, replica);
    }

    private static RuleAction Forward(string group) =>
        new() { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group } } } };

    private static ServiceLoadBalancer Link(string group, string container = "web", int port = 80) =>
        new() { TargetGroupArn = group, ContainerName = container, ContainerPort = port };

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task AwsvpcService_RegistersEachTasksOwnAddressAndTheContainerPort_InAnIpGroup()
    {
        var pilot = await StartAgentAsync();
        var (_, api, replica) = await BalancerAsync();
        await RegisterAsync(Awsvpc);

        await CreateAsync(new CreateServiceRequest { ServiceName = "api", TaskDefinition = "api", DesiredCount = 2, LoadBalancers = { Link("api", "app", 8080) } });

        // Each task is its own target: the address its agent reported (two tasks on one host, one container port).
        await replica.WaitForAsync(b => b.TargetsOf(api.TargetGroupArn).Count == 2, "two ip targets registered");
        var targets = replica.TargetsOf(api.TargetGroupArn);
        var tasks = await TasksAsync("api");
        var reported = tasks.Select(t => t.Attachments.Single().Details.Single(d => d.Name == "privateIPv4Address").Value).Order().ToList();
        Assert.Equal(reported, targets.Select(t => t.Target.Id).Order());
        Assert.Equal(pilot.Addresses.Values.Order(), reported);
        Assert.All(targets, t => Assert.Equal((8080, TargetRegistration.Registered), (t.Target.Port, t.Registration)));
        Assert.Equal(2, reported.Distinct().Count());
        Assert.Equal("ip", (await Api.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "api" } }, Host.Admin)).TargetGroups[0].TargetType);
        await WaitForServiceAsync("api", s => s.Events.Any(e => e.Message.StartsWith("(service api) registered ", StringComparison.Ordinal)
            && e.Message.EndsWith($" targets in (target-group {api.TargetGroupArn})", StringComparison.Ordinal)), "the registration event");
        Assert.Empty(replica.Errors);
    }

    [Fact]
    public async Task TargetTypeAndNetworkModeMismatch_IsRefusedInEcsWords_AndBadTargetTypesInElbWords()
    {
        var (web, api, replica) = await BalancerAsync();
        await RegisterAsync(Awsvpc);
        await RegisterAsync(TaskDefinitionSamples.Web());

        var awsvpcOnInstance = await RefusedAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "a", TaskDefinition = "api", DesiredCount = 0, LoadBalancers = { Link("web", "app", 8080) } }));
        Assert.Equal(StatusCode.InvalidArgument, awsvpcOnInstance.StatusCode);
        Assert.EndsWith($"load_balancers[0].target_group_arn: The provided target group {web.TargetGroupArn} has target type instance, which is incompatible with the awsvpc network mode specified in the task definition.", awsvpcOnInstance.Status.Detail);

        var bridgeOnIp = await RefusedAsync(() => CreateAsync(new CreateServiceRequest { ServiceName = "b", TaskDefinition = "web", DesiredCount = 0, LoadBalancers = { Link("api") } }));
        Assert.Equal(StatusCode.InvalidArgument, bridgeOnIp.StatusCode);
        Assert.EndsWith($"The provided target group {api.TargetGroupArn} has target type ip, which is incompatible with the bridge network mode specified in the task definition.", bridgeOnIp.Status.Detail);

        // A service keeps its links across a new task definition only if they still fit it.
        await CreateAsync(new CreateServiceRequest { ServiceName = "ok", TaskDefinition = "web", DesiredCount = 0, LoadBalancers = { Link("web") } });
        var update = await RefusedAsync(() => UpdateAsync(new UpdateServiceRequest { Service = "ok", TaskDefinition = "api" }));
        Assert.Contains("has target type instance, which is incompatible with the awsvpc network mode", update.Status.Detail);
        Assert.Equal(["ok"], (await Host.ServicesApi.ListServicesAsync(new ListServicesRequest(), Host.Admin)).ServiceArns.Select(a => a.Split('/')[^1]));
        Assert.EndsWith("web:1", (await DescribeAsync("ok")).TaskDefinition);

        var lambda = await RefusedAsync(() => Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "fn", Port = 80, TargetType = "lambda" }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, lambda.StatusCode);
        Assert.Equal("ValidationError: target_type: 'lambda' is not a valid target type: use instance or ip.", lambda.Status.Detail);

        var name = await RefusedAsync(() => Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = "api", Targets = { new TargetDescription { Id = "web-1.internal" } } }, Host.Admin).ResponseAsync);
        Assert.Equal("ValidationError: targets[0].id: 'web-1.internal' is not an IP address: target group 'api' has target type ip.", name.Status.Detail);
        await Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = "web", Targets = { new TargetDescription { Id = "web-1.internal" } } }, Host.Admin);

        var groups = (await Api.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest(), Host.Admin)).TargetGroups;
        Assert.Equal([("api", "ip"), ("web", "instance")], groups.Select(g => (g.TargetGroupName, g.TargetType)).Order());
    }

    [Fact]
    public async Task AdvertisedAddress_IsWhereInstanceTargetsPoint_AndOneThatIsNoIpAddressIsRefused()
    {
        await StartAgentAsync(advertiseAddress: "192.0.2.10");
        var (web, _, replica) = await BalancerAsync();
        await RegisterAsync(TaskDefinitionSamples.Web());

        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, LoadBalancers = { Link("web") } });

        // Not the session's source address (127.0.0.1 here): the one the agent advertised.
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 1, "a target registered");
        var target = Assert.Single(replica.TargetsOf(web.TargetGroupArn));
        Assert.Equal("192.0.2.10", target.Target.Id);
        Assert.InRange(target.Target.Port, 49153, 65535);

        var facts = SimulatedAgent.DefaultFacts();
        facts.AdvertiseAddress = "balancer-side.example";
        var refused = await RefusedAsync(() => SimulatedAgent.RegisterAsync(Host, facts: facts));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("facts.advertise_address: 'balancer-side.example' is not an IP address.", refused.Status.Detail);
    }

    [Fact]
    public async Task StopTask_OfAServiceTask_DrainsItsTargetFirst_AndStopsItOnlyWhenNothingIsInFlight()
    {
        await StartAgentAsync();
        var (web, _, replica) = await BalancerAsync();
        await RegisterAsync(TaskDefinitionSamples.Web());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, LoadBalancers = { Link("web") } });
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 1, "a target registered");
        var task = Assert.Single(await TasksAsync("web"));

        var stopped = (await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn, Reason = "maintenance" }, Host.Admin)).Task;

        // ECS: the task leaves its target group first and keeps running (and serving what it has) while it drains.
        Assert.Equal(LifecycleStatus.Running, stopped.DesiredStatus);
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Any(t => t.Registration == TargetRegistration.Draining), "the target draining");
        await WaitForEventAsync("web", "(service web) has begun draining connections on 1 tasks.");
        var draining = replica.TargetsOf(web.TargetGroupArn).Single(t => t.Registration == TargetRegistration.Draining);
        Assert.Contains(task.TaskId, Running());

        // A second StopTask while it drains changes nothing.
        Assert.Equal(LifecycleStatus.Running, (await Host.Tasks.StopTaskAsync(new StopTaskRequest { Task = task.TaskArn }, Host.Admin)).Task.DesiredStatus);

        // Requests in flight keep it running; once the replica has none left it goes, then the task is stopped.
        await replica.ReportInFlightAsync(web.TargetGroupArn, draining, 2);
        await replica.ReportInFlightAsync(web.TargetGroupArn, draining, 0);
        await replica.WaitForAsync(b => !b.TargetsOf(web.TargetGroupArn).Any(t => t.Target.Id == draining.Target.Id && t.Target.Port == draining.Target.Port), "the drained target removed");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(!Running().Contains(task.TaskId)), TimeSpan.FromSeconds(30), "the task stopped on its host");
        var described = (await Host.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Tasks = { task.TaskArn } }, Host.Admin)).Tasks.Single();
        Assert.Equal((LifecycleStatus.Stopped, StopCode.UserInitiated, "maintenance"), (described.DesiredStatus, described.StopCode, described.StoppedReason));
        var events = (await WaitForEventAsync("web", "has stopped 1 running tasks")).Events.Select(e => e.Message).ToList();
        Assert.Contains($"(service web) deregistered 1 targets in (target-group {web.TargetGroupArn})", events);

        // The service replaces it, and the replacement is registered.
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count(t => t.Registration == TargetRegistration.Registered) == 1, "the replacement registered");
        Assert.Empty(replica.Errors);
    }

    [Fact]
    public async Task LostHost_ItsTasksTargetsAreRemovedAtOnce_NotDrained()
    {
        var pilot = await StartAgentAsync();
        var (web, _, replica) = await BalancerAsync();
        await RegisterAsync(TaskDefinitionSamples.Web());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 2, LoadBalancers = { Link("web") } });
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 2, "two targets registered");

        // The host goes silent (declared lost after 1 s here). With a 300 s delay and no in-flight report a drain would
        // last five minutes: the targets going at once shows they were removed, never drained.
        await StopAgentAsync(pilot);
        await WaitForServiceAsync("web", s => s.Events.Any(e => e.Message == $"(service web) deregistered 2 targets in (target-group {web.TargetGroupArn})"), "the lost tasks' targets removed");
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 0, "no target left");
        Assert.DoesNotContain(replica.Deltas.SelectMany(d => d.Changes), c => c.TargetUpserted?.Target.Registration == TargetRegistration.Draining);
        Assert.Empty(replica.Errors);
    }

    [Fact]
    public async Task RemovingALink_DrainsTheTargetsItRegistered_AndTheOldTasksStopOnlyAfterward()
    {
        await StartAgentAsync();
        var (web, _, replica) = await BalancerAsync();
        await RegisterAsync(TaskDefinitionSamples.Web());
        await CreateAsync(new CreateServiceRequest { ServiceName = "web", TaskDefinition = "web", DesiredCount = 1, LoadBalancers = { Link("web") } });
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 1, "a target registered");
        var old = Assert.Single(await TasksAsync("web"));

        await UpdateAsync(new UpdateServiceRequest { Service = "web", LoadBalancersSet = true });

        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).SingleOrDefault()?.Registration == TargetRegistration.Draining, "the target draining");
        await WaitForEventAsync("web", "(service web) has begun draining connections on 1 tasks.");
        var draining = replica.TargetsOf(web.TargetGroupArn).Single();
        // The deployment starts the new task (not registered anywhere), but the old one serves on while it drains.
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Running().Count == 2), TimeSpan.FromSeconds(30), "the new task running beside the old one");
        Assert.Contains(old.TaskId, Running());
        Assert.Empty((await DescribeAsync("web")).LoadBalancers);

        await replica.ReportInFlightAsync(web.TargetGroupArn, draining, 0);
        await replica.WaitForAsync(b => b.TargetsOf(web.TargetGroupArn).Count == 0, "the drained target removed");
        await WaitForServiceAsync("web", s => Steady(s) && s.RunningCount == 1, "steady on the new task");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Running().Count == 1 && !Running().Contains(old.TaskId)), TimeSpan.FromSeconds(30), "the old task stopped");
        Assert.Contains($"(service web) deregistered 1 targets in (target-group {web.TargetGroupArn})", (await DescribeAsync("web")).Events.Select(e => e.Message));
        Assert.Empty(replica.TargetsOf(web.TargetGroupArn));
        Assert.Empty(replica.Errors);
    }
}

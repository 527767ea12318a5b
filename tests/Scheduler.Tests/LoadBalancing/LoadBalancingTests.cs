using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// The LoadBalancing API, the BalancerWatch stream and services behind target groups, on the real scheduler over real
/// gRPC and SQLite, with simulated agents and a fake balancer replica speaking the watch protocol.
/// </summary>
public sealed class LoadBalancingTests(ITestOutputHelper output) : ServiceTest(output)
{
    private V1.LoadBalancing.LoadBalancingClient Api => new(Host.Channel);

    private async Task<(LoadBalancer Lb, TargetGroup Group, Listener Listener)> BalancerAsync(int deregistrationDelay = 300)
    {
        var lb = (await Api.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front" }, Host.Admin)).LoadBalancer;
        var group = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = "web",
            Port = 80,
            HealthCheck = new HealthCheck { Path = "/health" },
            Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = deregistrationDelay },
        }, Host.Admin)).TargetGroup;
        var listener = (await Api.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = "front",
            Port = 8080,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = "web" } } } } },
        }, Host.Admin)).Listener;
        return (lb, group, listener);
    }

    private static async Task<RpcException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task Api_RefusesBadInput_WithElbErrorNamesAndTheField_AndStoresNothing()
    {
        var (lb, group, listener) = await BalancerAsync();
        Assert.StartsWith("arn:berth:elasticloadbalancing:local:", lb.LoadBalancerArn);
        Assert.Equal(("/health", 30, 5, 5, 2, "200"), (group.HealthCheck.Path, group.HealthCheck.IntervalSeconds, group.HealthCheck.TimeoutSeconds,
            group.HealthCheck.HealthyThresholdCount, group.HealthCheck.UnhealthyThresholdCount, group.HealthCheck.HttpCode));
        Assert.Equal([lb.LoadBalancerArn], (await Api.DescribeTargetGroupsAsync(new DescribeTargetGroupsRequest { Names = { "web" } }, Host.Admin)).TargetGroups[0].LoadBalancerArns);

        var duplicate = await RefusedAsync(() => Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web", Port = 81 }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        Assert.StartsWith("DuplicateTargetGroupName: name:", duplicate.Status.Detail);

        var path = await RefusedAsync(() => Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "api", Port = 81, HealthCheck = new HealthCheck { Path = "health" } }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, path.StatusCode);
        Assert.Equal("ValidationError: health_check.path: must start with '/'.", path.Status.Detail);

        var rule = new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = 10,
            Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { "/api/*" } } } },
            Actions = { new RuleAction { FixedResponse = new FixedResponseActionConfig { StatusCode = "503" } } },
        };
        await Api.CreateRuleAsync(rule, Host.Admin);
        var priority = await RefusedAsync(() => Api.CreateRuleAsync(rule, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, priority.StatusCode);
        Assert.StartsWith("PriorityInUse: priority: priority 10 is in use", priority.Status.Detail);

        var badCondition = rule.Clone();
        badCondition.Priority = 11;
        badCondition.Conditions[0].PathPattern.Values[0] = "api";
        var condition = await RefusedAsync(() => Api.CreateRuleAsync(badCondition, Host.Admin).ResponseAsync);
        Assert.Equal("ValidationError: conditions[0].path_pattern.values[0]: must start with '/' and be at most 128 characters.", condition.Status.Detail);

        var inUse = await RefusedAsync(() => Api.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { TargetGroupArn = group.TargetGroupArn }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, inUse.StatusCode);
        Assert.StartsWith("ResourceInUse: target_group_arn:", inUse.Status.Detail);

        var missing = await RefusedAsync(() => Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = "nope", Targets = { new TargetDescription { Id = "10.0.0.1" } } }, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.StartsWith("TargetGroupNotFound: target_group_arn:", missing.Status.Detail);

        // A service whose container does not expose the port, and one naming a missing group: nothing is created.
        await RegisterAsync(TaskDefinitionSamples.Web());
        var port = await RefusedAsync(() => CreateAsync(new CreateServiceRequest
        {
            ServiceName = "svc",
            TaskDefinition = "web",
            DesiredCount = 1,
            LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = "web", ContainerName = "web", ContainerPort = 8080 } },
        }));
        Assert.Equal(StatusCode.InvalidArgument, port.StatusCode);
        Assert.Contains("load_balancers[0].container_port: container 'web' of web:1 does not expose port 8080", port.Status.Detail);
        var group404 = await RefusedAsync(() => CreateAsync(new CreateServiceRequest
        {
            ServiceName = "svc",
            TaskDefinition = "web",
            DesiredCount = 1,
            LoadBalancers = { new ServiceLoadBalancer { TargetGroupName = "nope", ContainerName = "web", ContainerPort = 80 } },
        }));
        Assert.StartsWith("TargetGroupNotFound: load_balancers[0].target_group_arn:", group404.Status.Detail);
        Assert.Empty((await Host.ServicesApi.ListServicesAsync(new ListServicesRequest(), Host.Admin)).ServiceArns);

        // A group no load balancer forwards to is refused as ECS refuses it (its targets could never be healthy); once
        // a rule forwards to it, the service is accepted, and a group used by a service cannot be deleted either.
        var other = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "other", Port = 80 }, Host.Admin)).TargetGroup;
        var withOther = new CreateServiceRequest
        {
            ServiceName = "svc",
            TaskDefinition = "web",
            DesiredCount = 0,
            LoadBalancers = { new ServiceLoadBalancer { TargetGroupName = "other", ContainerName = "web", ContainerPort = 80 } },
        };
        var unattached = await RefusedAsync(() => CreateAsync(withOther));
        Assert.Equal(StatusCode.InvalidArgument, unattached.StatusCode);
        Assert.Contains($"load_balancers[0].target_group_arn: The target group with targetGroupArn {other.TargetGroupArn} does not have an associated load balancer.", unattached.Status.Detail);
        Assert.Empty((await Host.ServicesApi.ListServicesAsync(new ListServicesRequest(), Host.Admin)).ServiceArns);
        await Api.CreateRuleAsync(new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = 20,
            Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { "/other/*" } } } },
            Actions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = other.TargetGroupArn } } } } },
        }, Host.Admin);
        await CreateAsync(withOther);
        var serviceInUse = await RefusedAsync(() => Api.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { TargetGroupArn = other.TargetGroupArn }, Host.Admin).ResponseAsync);
        Assert.Contains("service svc", serviceInUse.Status.Detail);
    }

    [Fact]
    public async Task Watch_NeedsTheBalancerCredential_AndTheCredentialOpensNothingElse()
    {
        var (lb, _, _) = await BalancerAsync();
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = "front" }, Host.Admin)).Credential;

        await using (var admin = await FakeBalancer.ConnectAsync(Host, Host.AdminToken, lb.LoadBalancerArn))
        {
            Assert.Equal(StatusCode.PermissionDenied, (await admin.EndAsync()).StatusCode);
        }

        var refused = await RefusedAsync(() => Api.DescribeLoadBalancersAsync(new DescribeLoadBalancersRequest(), new CallOptions(SchedulerHost.Bearer(credential))).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

        await using var balancer = await FakeBalancer.ConnectAsync(Host, credential, "front");
        await balancer.WaitForAsync(b => b.Config is not null, "the snapshot");
        Assert.Equal(lb.LoadBalancerArn, balancer.Config!.LoadBalancer.LoadBalancerArn);
        Assert.Single(balancer.Config.Listeners);
        Assert.Single(balancer.Config.TargetGroups);
        await TaskTimeouts.WaitUntilAsync(
            async () => (await Api.DescribeLoadBalancersAsync(new DescribeLoadBalancersRequest { Names = { "front" } }, Host.Admin)).LoadBalancers[0] is { State: "active", DnsName: "127.0.0.1:8080" },
            TimeSpan.FromSeconds(30), "the load balancer active at the replica's address");
    }

    [Fact]
    public async Task Service_RegistersRunningTasks_WaitsForHealthyTargets_AndDrainsBeforeItStops()
    {
        await StartAgentAsync();
        var (lb, group, _) = await BalancerAsync();
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = lb.LoadBalancerArn }, Host.Admin)).Credential;
        await using var balancer = await FakeBalancer.ConnectAsync(Host, credential, lb.LoadBalancerArn);
        await balancer.WaitForAsync(b => b.Config is not null, "the snapshot");

        await RegisterAsync(TaskDefinitionSamples.Web());
        await CreateAsync(new CreateServiceRequest
        {
            ServiceName = "svc",
            TaskDefinition = "web",
            DesiredCount = 2,
            LoadBalancers = { new ServiceLoadBalancer { TargetGroupArn = "web", ContainerName = "web", ContainerPort = 80 } },
        });

        // Both tasks run and are registered (instance address + host port), but the service is not steady before
        // the balancer says their targets are healthy.
        await balancer.WaitForAsync(b => b.TargetsOf(group.TargetGroupArn).Count == 2, "two targets registered");
        var targets = balancer.TargetsOf(group.TargetGroupArn);
        Assert.All(targets, t => Assert.Equal(("127.0.0.1", TargetRegistration.Registered), (t.Target.Id, t.Registration)));
        Assert.False(Steady(await DescribeAsync("svc")));
        var health = (await Api.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = group.TargetGroupArn }, Host.Admin)).TargetHealthDescriptions;
        Assert.All(health, h => Assert.Equal(TargetHealthState.Initial, h.TargetHealth.State));

        await balancer.ReportHealthAsync(group.TargetGroupArn, targets, TargetHealthState.Healthy);
        var steady = await WaitForServiceAsync("svc", Steady, "steady once the targets are healthy");
        // One event per pass that registered some: "registered 2 targets", or 1 and 1 when the tasks ran a pass apart.
        Assert.Equal(2, steady.Events.Select(e => System.Text.RegularExpressions.Regex.Match(e.Message, $@"^\(service svc\) registered (\d) targets in \(target-group {System.Text.RegularExpressions.Regex.Escape(group.TargetGroupArn)}\)$"))
            .Where(m => m.Success).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));

        // Scale in: the victim's target drains first; the task keeps running until the balancer has nothing in flight.
        await UpdateAsync(new UpdateServiceRequest { Service = "svc", DesiredCount = 1 });
        await balancer.WaitForAsync(b => b.TargetsOf(group.TargetGroupArn).Any(t => t.Registration == TargetRegistration.Draining), "a target draining");
        var draining = balancer.TargetsOf(group.TargetGroupArn).Single(t => t.Registration == TargetRegistration.Draining);
        Assert.NotNull(draining.DrainDeadline);
        await WaitForEventAsync("svc", "(service svc) has begun draining connections on 1 tasks.");
        Assert.Equal(2, (await TasksAsync("svc")).Count);
        Assert.Equal(2, Running().Count);

        await balancer.ReportInFlightAsync(group.TargetGroupArn, draining, 3);
        await balancer.ReportInFlightAsync(group.TargetGroupArn, draining, 0);
        await balancer.WaitForAsync(b => b.TargetsOf(group.TargetGroupArn).Count == 1, "the drained target removed");
        await WaitForServiceAsync("svc", s => Steady(s) && s.RunningCount == 1, "one task left");
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Running().Count == 1), TimeSpan.FromSeconds(30), "the drained task stopped on its host");
        var events = (await DescribeAsync("svc")).Events.Select(e => e.Message).ToList();
        Assert.Contains($"(service svc) deregistered 1 targets in (target-group {group.TargetGroupArn})", events);
        Assert.Empty(balancer.Errors);
    }

    [Fact]
    public async Task Restart_KeepsLoadBalancersListenersRulesGroupsAndTargets_AndBalancersResyncWithASnapshot()
    {
        var (lb, group, listener) = await BalancerAsync();
        await Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = group.TargetGroupArn, Targets = { new TargetDescription { Id = "10.1.2.3", Port = 8081 } } }, Host.Admin);
        await Api.CreateRuleAsync(new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = 5,
            Conditions = { new RuleCondition { HostHeader = new HostHeaderCondition { Values = { "*.example.com" } } } },
            Actions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group.TargetGroupArn, Weight = 3 } } } } },
        }, Host.Admin);
        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = "front" }, Host.Admin)).Credential;
        string epoch;
        await using (var before = await FakeBalancer.ConnectAsync(Host, credential, "front"))
        {
            await before.WaitForAsync(b => b.Config is not null, "the snapshot");
            epoch = before.Epoch;
        }

        await RestartAsync();

        var rules = (await Api.DescribeRulesAsync(new DescribeRulesRequest { ListenerArn = listener.ListenerArn }, Host.Admin)).Rules;
        Assert.Equal([5, 0], rules.Select(r => r.Priority));
        Assert.True(rules[1].IsDefault);
        Assert.Equal(3, rules[0].Actions[0].Forward.TargetGroups[0].Weight);
        var health = (await Api.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = "web" }, Host.Admin)).TargetHealthDescriptions;
        Assert.Equal(("10.1.2.3", 8081), (health.Single().Target.Id, health.Single().Target.Port));

        // The same credential works after the restart, and the new epoch means a full snapshot.
        await using var after = await FakeBalancer.ConnectAsync(Host, credential, lb.LoadBalancerArn);
        await after.WaitForAsync(b => b.Config is not null, "the snapshot after the restart");
        Assert.NotEqual(epoch, after.Epoch);
        Assert.Single(after.TargetsOf(group.TargetGroupArn));
        Assert.Single(after.Config!.Rules);

        // A hand-registered target deregistered with a 0 s delay is removed at once; an unknown one is a no-op.
        await Api.ModifyTargetGroupAttributesAsync(new ModifyTargetGroupAttributesRequest { TargetGroupArn = "web", Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 0 } }, Host.Admin);
        await Api.DeregisterTargetsAsync(new DeregisterTargetsRequest { TargetGroupArn = "web", Targets = { new TargetDescription { Id = "10.1.2.3", Port = 8081 }, new TargetDescription { Id = "10.9.9.9" } } }, Host.Admin);
        await after.WaitForAsync(b => b.TargetsOf(group.TargetGroupArn).Count == 0, "the target gone");
        Assert.Empty(after.Errors);
    }

    [Fact]
    public async Task TargetChurn_ReachesTheReplicaAsDeltasOfWhatChanged_AndLeavesItHoldingWhatASnapshotHolds()
    {
        var (_, web, listener) = await BalancerAsync(deregistrationDelay: 0);
        var groups = new List<string> { web.TargetGroupArn };
        for (var i = 1; i <= 3; i++)
        {
            groups.Add(await GroupBehindARuleAsync(listener, i));
        }

        var credential = (await Api.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = "front" }, Host.Admin)).Credential;
        await using var replica = await FakeBalancer.ConnectAsync(Host, credential, "front");
        await replica.WaitForAsync(b => b.Config is not null, "the snapshot");

        // One registration is one delta of one change: the group's target, nothing else of the configuration.
        await Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = groups[2], Targets = { new TargetDescription { Id = "10.0.0.1", Port = 9000 } } }, Host.Admin);
        await replica.WaitForAsync(b => b.Deltas.Count == 1, "the registration's delta");
        var first = replica.Deltas.Single().Changes.Single();
        Assert.Equal((groups[2], "10.0.0.1", 9000), (first.TargetUpserted.TargetGroupArn, first.TargetUpserted.Target.Target.Id, first.TargetUpserted.Target.Target.Port));

        // Random churn with changes of the configuration mixed in: group settings (a group the replica holds, so its
        // delta is built group by group too), new groups behind new rules (the whole configuration).
        var random = new Random(16);
        var registered = new List<(string Group, int Port)> { (groups[2], 9000) };
        for (var step = 0; step < 80; step++)
        {
            var group = groups[random.Next(groups.Count)];
            switch (random.Next(10))
            {
                case 0:
                    await Api.ModifyTargetGroupAttributesAsync(new ModifyTargetGroupAttributesRequest { TargetGroupArn = group, Attributes = new TargetGroupAttributes { SlowStartDurationSeconds = random.Next(2) * 30 } }, Host.Admin);
                    break;
                case 1 when groups.Count < 8:
                    groups.Add(await GroupBehindARuleAsync(listener, groups.Count + 10));
                    break;
                case < 5 when registered.Count > 0:
                    var gone = registered[random.Next(registered.Count)];
                    registered.Remove(gone);
                    await Api.DeregisterTargetsAsync(new DeregisterTargetsRequest { TargetGroupArn = gone.Group, Targets = { new TargetDescription { Id = "10.0.0.1", Port = gone.Port } } }, Host.Admin);
                    break;
                default:
                    var port = 9001 + step;
                    registered.Add((group, port));
                    await Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = group, Targets = { new TargetDescription { Id = "10.0.0.1", Port = port } } }, Host.Admin);
                    break;
            }
        }

        // Deltas arrive in commit order: once the last registration is there, everything before it is.
        await Api.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = groups[0], Targets = { new TargetDescription { Id = "10.0.0.2", Port = 1 } } }, Host.Admin);
        await replica.WaitForAsync(b => b.TargetsOf(groups[0]).Any(t => t.Target.Id == "10.0.0.2"), "the last registration");
        await using var fresh = await FakeBalancer.ConnectAsync(Host, credential, "front", "replica-2");
        await fresh.WaitForAsync(b => b.Config is not null, "a fresh snapshot");

        Assert.Empty(replica.Errors);
        Assert.Equal(fresh.Targets.Keys.Order(), replica.Targets.Keys.Order());
        foreach (var (arn, targets) in fresh.Targets)
        {
            Assert.Equal(targets.OrderBy(t => t.Key), replica.Targets[arn].OrderBy(t => t.Key));
        }

        // The registered targets are exactly those the churn left registered (the others drain, then go).
        Assert.Equal(
            registered.Select(r => $"{r.Group} 10.0.0.1:{r.Port}").Append($"{groups[0]} 10.0.0.2:1").Order(),
            fresh.Targets.SelectMany(g => g.Value.Values.Where(t => t.Registration == TargetRegistration.Registered).Select(t => $"{g.Key} {t.Target.Id}:{t.Target.Port}")).Order());
    }

    private async Task<string> GroupBehindARuleAsync(Listener listener, int priority)
    {
        var group = (await Api.CreateTargetGroupAsync(new CreateTargetGroupRequest
        {
            Name = $"g{priority}",
            Port = 80,
            HealthCheck = new HealthCheck { Path = "/health" },
            Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 0 },
        }, Host.Admin)).TargetGroup;
        await Api.CreateRuleAsync(new CreateRuleRequest
        {
            ListenerArn = listener.ListenerArn,
            Priority = priority,
            Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { $"/{priority}/*" } } } },
            Actions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = group.TargetGroupArn } } } } },
        }, Host.Admin);
        return group.TargetGroupArn;
    }
}

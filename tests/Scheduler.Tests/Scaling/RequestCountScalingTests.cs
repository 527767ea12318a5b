using Berth.Scheduler.Scaling;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.Tests.LoadBalancing;
using Berth.Scheduler.Tests.Services;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Scaling;

/// <summary>
/// Target tracking on <c>ALBRequestCountPerTarget</c>, end to end on a fake clock: a balancer replica (the watch
/// protocol's fake) reports the requests it routed to a service's target group, the scheduler sums them over a minute
/// and divides by the targets in service, and the scaling pass sets the service's count from that, as Application Auto
/// Scaling does with ELB's metric.
/// </summary>
public sealed class RequestCountScalingTests(ITestOutputHelper output) : FakeClockServiceTest(output, new DateTimeOffset(2026, 12, 4, 8, 0, 0, TimeSpan.Zero))
{
    private ApplicationAutoScaling.ApplicationAutoScalingClient Aas => new(Host.Channel);

    private V1.LoadBalancing.LoadBalancingClient Elb => new(Host.Channel);

    private Metrics.MetricsClient MetricsApi => new(Host.Channel);

    private const string Resource = "service/default/svc";

    [Fact]
    public async Task RequestsPerTarget_AboveTheTarget_ScaleTheServiceOut_AndBadLabelsAreRefused()
    {
        await StartAgentAsync(memory: 8192);
        var lb = (await Elb.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "front" }, Host.Admin)).LoadBalancer;
        var group = (await Elb.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "web", Port = 80, HealthCheck = new HealthCheck { Path = "/health" } }, Host.Admin)).TargetGroup;
        var stray = (await Elb.CreateTargetGroupAsync(new CreateTargetGroupRequest { Name = "stray", Port = 80 }, Host.Admin)).TargetGroup;
        await Elb.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = "front",
            Port = 8080,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { new RuleAction { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = "web" } } } } },
        }, Host.Admin);
        var credential = (await Elb.CreateBalancerCredentialAsync(new CreateBalancerCredentialRequest { LoadBalancerArn = lb.LoadBalancerArn }, Host.Admin)).Credential;
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
        await balancer.WaitForAsync(b => b.TargetsOf(group.TargetGroupArn).Count == 2, "two targets registered");
        await balancer.ReportHealthAsync(group.TargetGroupArn, balancer.TargetsOf(group.TargetGroupArn), TargetHealthState.Healthy);
        await WaitForServiceAsync("svc", s => s.RunningCount == 2, "2 running");

        await Aas.RegisterScalableTargetAsync(new RegisterScalableTargetRequest { ResourceId = Resource, MinCapacity = 1, MaxCapacity = 8 }, Host.Admin);
        var label = $"{lb.LoadBalancerArn[(lb.LoadBalancerArn.IndexOf(":loadbalancer/", StringComparison.Ordinal) + ":loadbalancer/".Length)..]}/{group.TargetGroupArn[(group.TargetGroupArn.LastIndexOf(':') + 1)..]}";
        Assert.Matches("^app/front/[0-9a-f]+/targetgroup/web/[0-9a-f]+$", label);

        // AAS's rules: the label is required with this metric and refused with another; it must name a group behind a
        // load balancer of the cluster that forwards to it. Nothing is stored by a refusal.
        Assert.Contains("needs the target group's resource label", (await RefusedAsync(Policy(100, ""))).Status.Detail, StringComparison.Ordinal);
        var cpu = Policy(50, label);
        cpu.TargetTrackingScalingPolicyConfiguration.PredefinedMetricType = "ECSServiceAverageCPUUtilization";
        Assert.Contains("a resource label is only for ALBRequestCountPerTarget", (await RefusedAsync(cpu)).Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("ValidationException: resource_label: 'app/front' is not a resource label", (await RefusedAsync(Policy(100, "app/front"))).Status.Detail, StringComparison.Ordinal);
        var strayLabel = label[..label.IndexOf("/targetgroup/", StringComparison.Ordinal)] + "/" + stray.TargetGroupArn[(stray.TargetGroupArn.LastIndexOf(':') + 1)..];
        Assert.Contains("does not forward to its target group", (await RefusedAsync(Policy(100, strayLabel))).Status.Detail, StringComparison.Ordinal);
        Assert.Contains("names no target group", (await RefusedAsync(Policy(100, label.Replace("/targetgroup/web/", "/targetgroup/nope/", StringComparison.Ordinal)))).Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await Aas.DescribeScalingPoliciesAsync(new DescribeScalingPoliciesRequest(), Host.Admin)).ScalingPolicies);

        await Aas.PutScalingPolicyAsync(Policy(100, label), Host.Admin);
        var stored = Assert.Single((await Aas.DescribeScalingPoliciesAsync(new DescribeScalingPoliciesRequest(), Host.Admin)).ScalingPolicies);
        Assert.Equal(("ALBRequestCountPerTarget", label), (stored.TargetTrackingScalingPolicyConfiguration.PredefinedMetricType, stored.TargetTrackingScalingPolicyConfiguration.ResourceLabel));

        // 600 requests in the minute (two reports of one replica) over two healthy targets: 300 per target against a
        // target of 100, so ceil(2 x 300 / 100) = 6 tasks. Groups the load balancer does not forward to count nothing.
        Clock.Advance(TimeSpan.FromSeconds(20));
        await balancer.ReportRequestsAsync(group.TargetGroupArn, 250);
        await balancer.ReportRequestsAsync(stray.TargetGroupArn, 10_000);
        Clock.Advance(TimeSpan.FromSeconds(10));
        await balancer.ReportRequestsAsync(group.TargetGroupArn, 350);
        var metric = await WaitForRequestMetricAsync(m => m.RequestsPerMinute == 600);
        Assert.Equal((group.TargetGroupArn, 2, 300.0), (metric.TargetGroupArn, metric.Targets, metric.RequestCountPerTarget));

        await PassAsync(TimeSpan.FromSeconds(30));
        var service = await WaitForServiceAsync("svc", s => s.DesiredCount == 6, "scaled out to 6");
        Assert.Contains(service.Events, e => e.Message.Contains("Application Auto Scaling set the desired count from 2 to 6", StringComparison.Ordinal));
        var activity = (await Aas.DescribeScalingActivitiesAsync(new DescribeScalingActivitiesRequest { ResourceId = Resource }, Host.Admin)).ScalingActivities[0];
        Assert.Contains("(ALBRequestCountPerTarget 300 against target 100)", activity.Cause, StringComparison.Ordinal);

        // A minute later without reports the window is empty (0 requests per target): the scale-in waits out its cooldown.
        await PassAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await WaitForRequestMetricAsync(m => m.RequestsPerMinute == 0)).RequestsPerMinute);
        Assert.Equal(6, (await DescribeAsync("svc")).DesiredCount);
    }

    private static PutScalingPolicyRequest Policy(double target, string label) => new()
    {
        PolicyName = "requests",
        ResourceId = Resource,
        PolicyType = "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfiguration { TargetValue = target, PredefinedMetricType = "ALBRequestCountPerTarget", ResourceLabel = label },
    };

    private async Task<RpcException> RefusedAsync(PutScalingPolicyRequest request)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Aas.PutScalingPolicyAsync(request, Host.Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        return e;
    }

    private async Task<TargetGroupRequestMetric> WaitForRequestMetricAsync(Func<TargetGroupRequestMetric, bool> predicate)
    {
        TargetGroupRequestMetric? found = null;
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            var metrics = await MetricsApi.GetServiceMetricsAsync(new GetServiceMetricsRequest { ServiceName = "svc" }, Host.Admin);
            found = metrics.RequestCountPerTarget.FirstOrDefault();
            return found is not null && predicate(found);
        }, TimeSpan.FromSeconds(30), "the service's request metric");
        return found!;
    }

    /// <summary>Moves the clock by <paramref name="by"/>, which must reach the next minute's tick, and waits for that scaling pass.</summary>
    private async Task PassAsync(TimeSpan by)
    {
        var runner = Host.Services.GetRequiredService<ScalingRunner>();
        var before = runner.Passes;
        Clock.Advance(by);
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(runner.Passes > before), TimeSpan.FromSeconds(30), "a scaling pass");
    }
}

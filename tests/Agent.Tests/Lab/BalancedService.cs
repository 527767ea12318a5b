using System.Net.Http.Json;
using System.Text.Json;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// A service of the lab's HTTP image behind a real balancer process: a load balancer with one HTTP listener on the
/// lab's root address, target groups the service registers its tasks in (the listener forwards to the first), the
/// service spread over the zones, and the balancer serving v1. Dispose deletes the service and the load balancer and
/// stops the balancer.
/// </summary>
internal sealed class BalancedService : IAsyncDisposable
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly LabPlatform _lab;
    private readonly HttpClient _admin = new() { Timeout = TimeSpan.FromSeconds(5) };
    private ServiceProcess? _balancer;

    private BalancedService(LabPlatform lab) => _lab = lab;

    public string Name { get; private init; } = "";

    public string LoadBalancerArn { get; private init; } = "";

    public string ListenerArn { get; private set; } = "";

    /// <summary>The target groups, in the order of the service's loadBalancers.</summary>
    public List<TargetGroup> Groups { get; } = [];

    /// <summary>The task definition revision 1 (index page "v1") and 2 ("v2") of the service's family.</summary>
    public string[] Revisions { get; private set; } = [];

    /// <summary>Where clients reach the service: the listener on the lab's root address.</summary>
    public string Address { get; private set; } = "";

    private string AdminAddress { get; set; } = "";

    /// <summary>
    /// Creates it all and waits until the service is steady with <paramref name="desiredCount"/> tasks and the balancer
    /// serves v1. <paramref name="groups"/> target groups (health checks every 5 s, healthy after 2, deregistration delay
    /// 30 s); the listener forwards to the first, a rule on header <c>x-canary: 1</c> (priority 100) to the others,
    /// so that every group is in use (a service whose group no listener uses never has healthy targets).
    /// </summary>
    public static async Task<BalancedService> StartAsync(LabPlatform lab, int desiredCount, int groups = 1)
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var service = new BalancedService(lab)
        {
            Name = "lb-" + suffix,
            LoadBalancerArn = (await lab.LoadBalancing.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "lab-" + suffix, Cluster = LabPlatform.Cluster }, lab.Admin)).LoadBalancer.LoadBalancerArn,
        };
        try
        {
            await service.CreateAsync(suffix, desiredCount, groups);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    private async Task CreateAsync(string suffix, int desiredCount, int groups)
    {
        for (var i = 0; i < groups; i++)
        {
            Groups.Add((await _lab.LoadBalancing.CreateTargetGroupAsync(new CreateTargetGroupRequest
            {
                Name = $"web{i}-{suffix}",
                Port = 8080,
                Cluster = LabPlatform.Cluster,
                HealthCheck = new HealthCheck { IntervalSeconds = 5, TimeoutSeconds = 2, HealthyThresholdCount = 2, UnhealthyThresholdCount = 2 },
                Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = 30 },
            }, _lab.Admin)).TargetGroup);
        }

        var port = _lab.FreeRootPort();
        ListenerArn = (await _lab.LoadBalancing.CreateListenerAsync(new CreateListenerRequest
        {
            LoadBalancerArn = LoadBalancerArn,
            Port = port,
            Protocol = ListenerProtocol.Http,
            DefaultActions = { Forward(Groups[0].TargetGroupArn) },
        }, _lab.Admin)).Listener.ListenerArn;
        if (groups > 1)
        {
            await _lab.LoadBalancing.CreateRuleAsync(new CreateRuleRequest
            {
                ListenerArn = ListenerArn,
                Priority = 100,
                Conditions = { new RuleCondition { HttpHeader = new HttpHeaderCondition { HttpHeaderName = "x-canary", Values = { "1" } } } },
                Actions = { Forward([.. Groups.Skip(1).Select(g => (g.TargetGroupArn, 1))]) },
            }, _lab.Admin);
        }

        Revisions = [await _lab.RegisterHttpAsync("lbweb", 1), await _lab.RegisterHttpAsync("lbweb", 2)];
        var adminPort = TestPorts.Next();
        AdminAddress = $"http://127.0.0.1:{adminPort}/status";
        _balancer = await _lab.StartBalancerAsync(LoadBalancerArn, adminPort);
        var request = new CreateServiceRequest
        {
            Cluster = LabPlatform.Cluster,
            ServiceName = Name,
            TaskDefinition = Revisions[0],
            DesiredCount = desiredCount,
            PlacementStrategy = { new PlacementStrategy { Type = "spread", Field = "attribute:berth.zone" } },
        };
        request.LoadBalancers.AddRange(Groups.Select(g => new ServiceLoadBalancer { TargetGroupArn = g.TargetGroupArn, ContainerName = "web", ContainerPort = 8080 }));
        await _lab.Services.CreateServiceAsync(request, _lab.Admin);
        await _lab.WaitForSteadyAsync(Name, desiredCount, TimeSpan.FromMinutes(3));
        Address = $"http://{_lab.Lab.RootAddress}:{port}/";
        await TaskTimeouts.WaitUntilAsync(async () =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            try
            {
                return (await http.GetStringAsync(Address)) == "v1\n";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the balancer to serve v1");
    }

    /// <summary>A forward action to target groups with weights (ELB's default weight 1 when one group).</summary>
    public static RuleAction Forward(params (string Arn, int Weight)[] groups)
    {
        var forward = new ForwardActionConfig();
        forward.TargetGroups.AddRange(groups.Select(g => new TargetGroupTuple { TargetGroupArn = g.Arn, Weight = g.Weight }));
        return new RuleAction { Forward = forward };
    }

    public static RuleAction Forward(string arn) => new() { Forward = new ForwardActionConfig { TargetGroups = { new TargetGroupTuple { TargetGroupArn = arn } } } };

    /// <summary>What the balancer process says it serves (its admin <c>/status</c>); null while it does not answer.</summary>
    public async Task<BalancerStatus?> StatusAsync()
    {
        try
        {
            return await _admin.GetFromJsonAsync<BalancerStatus>(AdminAddress, s_json);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the balancer's status meets <paramref name="condition"/>; returns that status.</summary>
    public async Task<BalancerStatus> WaitForStatusAsync(Func<BalancerStatus, bool> condition, string what, TimeSpan? timeout = null)
    {
        BalancerStatus? seen = null;
        await TaskTimeouts.WaitUntilAsync(async () => (seen = await StatusAsync()) is { } status && condition(status), timeout ?? TimeSpan.FromSeconds(60), what);
        return seen!;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _lab.DeleteServiceAsync(Name);
        }
        finally
        {
            if (_balancer is not null)
            {
                await _balancer.DisposeAsync();
            }

            try
            {
                await _lab.LoadBalancing.DeleteLoadBalancerAsync(new DeleteLoadBalancerRequest { LoadBalancerArn = LoadBalancerArn }, _lab.Admin);
                foreach (var group in Groups)
                {
                    await _lab.LoadBalancing.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { TargetGroupArn = group.TargetGroupArn }, _lab.Admin);
                }
            }
            catch (RpcException)
            {
                // Best effort: the lab goes with the fixture.
            }

            _admin.Dispose();
        }
    }
}

/// <summary>The balancer's admin <c>/status</c> (src/LoadBalancer/Hosting/AdminEndpoints.cs).</summary>
internal sealed record BalancerStatus(bool Connected, string? Epoch, long Version, List<BalancerListenerStatus> Listeners, List<BalancerTargetStatus> Targets)
{
    /// <summary>The targets of one group in a state (healthy, initial, draining, ...).</summary>
    public int Count(string groupArn, string state) => Targets.Count(t => t.TargetGroupArn == groupArn && t.State == state);
}

internal sealed record BalancerListenerStatus(int Port, string Protocol, int Rules);

internal sealed record BalancerTargetStatus(string TargetGroupArn, string Target, string State, string Reason, string Description);

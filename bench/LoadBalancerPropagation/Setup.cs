using System.Globalization;
using Berth.Scheduler.V1;
using Grpc.Core;
using V1 = Berth.Scheduler.V1;

namespace Berth.Bench.LoadBalancerPropagation;

/// <summary>
/// One application load balancer whose listeners' rules forward to every target group, so that every replica holds
/// all of them: ELB allows 100 rules per listener and 5 groups per forward action, so the groups are spread over
/// listeners of <see cref="RulesPerListener"/> path rules that forward to 5 groups each. Targets are registered with
/// ELB's RegisterTargets, 10 per call (one call per group).
/// </summary>
internal static class Setup
{
    public const int RulesPerListener = 50;
    public const int GroupsPerRule = 5;

    public static async Task<(string LoadBalancerArn, List<string> Groups, Dictionary<string, Queue<string>> Targets)> CreateAsync(
        V1.LoadBalancing.LoadBalancingClient lb, Clusters.ClustersClient clusters, Func<CallOptions> admin, Settings settings, Func<string> nextTarget)
    {
        const string Cluster = "prop";
        await clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = Cluster }, admin());
        var balancer = (await lb.CreateLoadBalancerAsync(new CreateLoadBalancerRequest { Name = "prop", Cluster = Cluster }, admin())).LoadBalancer;

        var groups = new string[settings.Groups];
        var targets = new Dictionary<string, Queue<string>>(StringComparer.Ordinal);
        await Parallel.ForAsync(0, settings.Groups, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var group = (await lb.CreateTargetGroupAsync(new CreateTargetGroupRequest
            {
                Name = $"g{i:D4}",
                Port = 8080,
                Cluster = Cluster,
                // Checks off: the figure is the configuration's propagation, not 10,000 probes per interval of
                // made-up addresses (docs/benchmarks.md says so).
                HealthCheck = new HealthCheck { Enabled = settings.HealthChecks },
            }, admin())).TargetGroup;
            groups[i] = group.TargetGroupArn;
        });

        foreach (var arn in groups)
        {
            targets[arn] = new Queue<string>();
        }

        await Parallel.ForAsync(0, settings.Groups, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var request = new RegisterTargetsRequest { TargetGroupArn = groups[i] };
            var queue = targets[groups[i]];
            lock (queue)
            {
                for (var t = 0; t < settings.TargetsPerGroup; t++)
                {
                    var id = nextTarget();
                    queue.Enqueue(id);
                    request.Targets.Add(new TargetDescription { Id = id, Port = 8080 });
                }
            }

            await lb.RegisterTargetsAsync(request, admin());
        });

        var perListener = RulesPerListener * GroupsPerRule;
        for (var first = 0; first < groups.Length; first += perListener)
        {
            var listener = (await lb.CreateListenerAsync(new CreateListenerRequest
            {
                LoadBalancerArn = balancer.LoadBalancerArn,
                Port = settings.FirstListenerPort + (first / perListener),
                Protocol = ListenerProtocol.Http,
                DefaultActions = { new RuleAction { FixedResponse = new FixedResponseActionConfig { StatusCode = "404", ContentType = "text/plain" } } },
            }, admin())).Listener;
            for (var r = 0; r < RulesPerListener && first + (r * GroupsPerRule) < groups.Length; r++)
            {
                var forward = new ForwardActionConfig();
                for (var g = first + (r * GroupsPerRule); g < Math.Min(groups.Length, first + ((r + 1) * GroupsPerRule)); g++)
                {
                    forward.TargetGroups.Add(new TargetGroupTuple { TargetGroupArn = groups[g], Weight = 1 });
                }

                await lb.CreateRuleAsync(new CreateRuleRequest
                {
                    ListenerArn = listener.ListenerArn,
                    Priority = r + 1,
                    Conditions = { new RuleCondition { PathPattern = new PathPatternCondition { Values = { string.Create(CultureInfo.InvariantCulture, $"/r{first + r}/*") } } } },
                    Actions = { new RuleAction { Forward = forward } },
                }, admin());
            }
        }

        return (balancer.LoadBalancerArn, [.. groups], targets);
    }
}

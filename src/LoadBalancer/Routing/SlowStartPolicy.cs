using System.Globalization;
using System.Runtime.CompilerServices;
using Berth.LoadBalancer.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// ELB's slow start on top of round robin: a target that became healthy less than the slow-start duration ago takes
/// a share of its turns that grows linearly from 0 to all of them; its skipped turns go to the next target.
/// </summary>
internal sealed class SlowStartPolicy(TargetHealthTable table, TimeProvider time) : ILoadBalancingPolicy
{
    private readonly ConditionalWeakTable<ClusterState, StrongBox<int>> _counters = [];

    public string Name => ProxyConfigBuilder.SlowStartPolicy;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        var count = availableDestinations.Count;
        if (count == 0)
        {
            return null;
        }

        var counter = _counters.GetOrCreateValue(cluster);
        var start = (int)((uint)Interlocked.Increment(ref counter.Value) % (uint)count);
        var seconds = cluster.Model.Config.Metadata?.GetValueOrDefault("berth.slow-start-seconds");
        var window = double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? TimeSpan.FromSeconds(s) : TimeSpan.Zero;
        if (window <= TimeSpan.Zero)
        {
            return availableDestinations[start];
        }

        var now = time.GetUtcNow();
        for (var k = 0; k < count; k++)
        {
            var candidate = availableDestinations[(start + k) % count];
            var health = table.Find(cluster.ClusterId, candidate.DestinationId)?.Current;
            if (health is not { State: TargetState.Healthy })
            {
                return candidate;
            }

            var share = (now - health.Since) / window;
            if (share >= 1 || Random.Shared.NextDouble() < share)
            {
                return candidate;
            }
        }

        return availableDestinations[start];
    }
}

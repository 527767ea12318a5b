using Berth.LoadBalancer.Listeners;
using Berth.LoadBalancer.Model;
using Yarp.ReverseProxy;

namespace Berth.LoadBalancer.Watch;

/// <summary>
/// What is still in flight on each draining target: HTTP requests (YARP counts them per destination, WebSockets and
/// gRPC streams included, for as long as they are proxied) and TCP listener connections.
/// </summary>
internal sealed class InFlightCounter(IProxyStateLookup proxy, TcpProxy tcp)
{
    public IEnumerable<(TargetGroupModel Group, TargetModel Target, int Requests, int Connections)> Draining(BalancerModel model)
    {
        foreach (var group in model.TargetGroups.Values)
        {
            proxy.TryGetCluster(group.Arn, out var cluster);
            foreach (var target in group.Targets)
            {
                if (!target.Draining)
                {
                    continue;
                }

                var requests = cluster is not null && cluster.Destinations.TryGetValue(target.Key, out var destination) ? destination.ConcurrentRequestCount : 0;
                yield return (group, target, requests, tcp.OpenConnections(group.Arn, target.Key));
            }
        }
    }
}

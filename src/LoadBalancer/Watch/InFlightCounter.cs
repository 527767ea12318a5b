using Berth.LoadBalancer.Listeners;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Relay;
using Yarp.ReverseProxy;

namespace Berth.LoadBalancer.Watch;

/// <summary>
/// What is still in flight on each draining target: HTTP requests (YARP counts them per destination, WebSockets and
/// gRPC streams included, for as long as they are proxied; the HTTP/1.1 relay counts its own) and TCP listener
/// connections.
/// </summary>
internal sealed class InFlightCounter(IProxyStateLookup proxy, TcpProxy tcp, Http1Relay relay)
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

                var requests = cluster is not null && cluster.Destinations.TryGetValue(target.Key, out var destination)
                    ? destination.ConcurrentRequestCount + relay.InFlight(destination)
                    : 0;
                yield return (group, target, requests, tcp.OpenConnections(group.Arn, target.Key));
            }
        }
    }
}

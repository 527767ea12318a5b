using Berth.LoadBalancer.Hosting;

// The Berth load balancer: serves one load balancer's listeners (HTTP, HTTPS, TCP) with the configuration the
// scheduler streams to it, probes target health and reports it back (docs/load-balancer.md).
// Composition: Hosting/BalancerApplication.cs and LoadBalancerServiceCollectionExtensions.cs.
var app = BalancerApplication.Build(args);
app.Run();

namespace Berth.LoadBalancer
{
    /// <summary>Entry point, public so that in-process tests can host the balancer.</summary>
    public partial class Program;
}

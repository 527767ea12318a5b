using Berth.LoadBalancer.Hosting;

// The Berth load balancer: serves one load balancer's listeners (HTTP, HTTPS, TCP) with the configuration the
// scheduler streams to it, probes target health and reports it back (docs/load-balancer.md).
var builder = WebApplication.CreateSlimBuilder(args);
// https:// listeners get their certificates from the configuration (Kestrel endpoint config), which the slim
// builder leaves out.
builder.WebHost.UseKestrelHttpsConfiguration();
// `--scheduler-url URL --token-file FILE --data-dir DIR` land in the Balancer section.
builder.Configuration.AddCommandLine(args, BalancerOptions.SwitchMappings);
builder.AddLoadBalancerServices();

var app = builder.Build();
app.MapLoadBalancer();
app.Run();

namespace Berth.LoadBalancer
{
    /// <summary>Entry point, public so that in-process tests can host the balancer.</summary>
    public partial class Program;
}

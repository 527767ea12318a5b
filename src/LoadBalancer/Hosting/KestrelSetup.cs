using System.Net;
using Berth.LoadBalancer.Listeners;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Hosting;

/// <summary>
/// Kestrel for a balancer: the admin endpoint in code, the listeners from <see cref="ListenerEndpoints"/>' reloading
/// configuration, and the TCP proxy as connection middleware on every endpoint (it passes non-TCP ports on).
/// </summary>
internal sealed class KestrelSetup(ListenerEndpoints listeners, TcpProxy tcp, IOptions<BalancerOptions> options) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;
        // A proxy streams bodies of any size; the target decides what it accepts (ELB has no body limit either).
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Use(next => connection => tcp.HandleAsync(connection, next)));
        var admin = options.Value.AdminUrl;
        if (admin.Host is "localhost")
        {
            kestrel.ListenLocalhost(admin.Port);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(admin.Host.Trim('[', ']')), admin.Port);
        }

        kestrel.Configure(listeners.Configuration, reloadOnChange: true);
    }
}

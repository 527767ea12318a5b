using System.Net;
using Berth.LoadBalancer.Listeners;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.Relay;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Hosting;

/// <summary>
/// Kestrel for a balancer: the admin endpoint in code, the listeners from <see cref="ListenerEndpoints"/>' reloading
/// configuration, and the TCP proxy and the HTTP/1.1 relay as connection middleware on every endpoint (each passes
/// the ports it does not serve on).
/// </summary>
internal sealed class KestrelSetup(ListenerEndpoints listeners, ListenerTlsHandshake tls, TcpProxy tcp, Http1Relay relay, IOptions<BalancerOptions> options) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;
        // A proxy streams bodies of any size; the target decides what it accepts (ELB has no body limit either).
        kestrel.Limits.MaxRequestBodySize = null;
        relay.KeepAliveTimeout = kestrel.Limits.KeepAliveTimeout;
        // TCP listeners' ports; what it does not serve reaches Kestrel's HTTP (and TLS, registered after it on HTTPS
        // endpoints). The HTTP/1.1 relay serves plain HTTP listeners before Kestrel sees their connections
        // (Relay/RelayListener), and gives Kestrel only those it hands over.
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

        // HTTPS endpoints get their TLS from the handshake callback (certificate by SNI, versions by policy, per
        // connection). Kestrel only lets a named endpoint of the configuration take a callback, so every HTTPS slot's
        // name is registered here once, before Kestrel reads the configuration (the loader's table is not safe to
        // change while a reload reads it).
        var loader = kestrel.Configure(listeners.Configuration, reloadOnChange: true);
        var handshake = tls.Options;
        for (var slot = 0; slot < TlsMaterial.MaxListeners; slot++)
        {
            loader.Endpoint(ListenerEndpoints.HttpsEndpoint(slot), endpoint => endpoint.ListenOptions.UseHttps(handshake));
        }

        // The callback replaces the endpoint's HTTPS options; a selector that is never called keeps Kestrel from
        // looking for a development certificate for them first.
        kestrel.ConfigureHttpsDefaults(https => https.ServerCertificateSelector ??= static (_, _) => null);
    }
}

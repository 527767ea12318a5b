using Berth.Core.Hosting;
using Berth.Core.Networking;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Listeners;
using Berth.LoadBalancer.Relay;
using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.TaskRoutes;
using Berth.LoadBalancer.Watch;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;

namespace Berth.LoadBalancer.Hosting;

/// <summary>The balancer's composition.</summary>
internal static class LoadBalancerServiceCollectionExtensions
{
    private const string DataProtectionHostedService = "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService";

    public static IHostApplicationBuilder AddLoadBalancerServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<BalancerOptions>()
            .BindConfiguration(BalancerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BalancerOptions>, BalancerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<DataDirectory>();
        services.AddSingleton<ConfigCacheWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ConfigCacheWriter>());
        services.AddSingleton<ConfigStore>();

        services.AddSingleton<TargetHealthTable>();
        services.AddSingleton<HealthCheckClient>();
        services.AddSingleton<HealthProber>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthProber>());

        services.AddSingleton<TcpProxy>();
        services.AddSingleton<HttpDate>();
        services.AddSingleton<RelayRouter>();
        services.AddSingleton<Http1Relay>();
        services.AddSingleton<ListenerEndpoints>();
        services.AddSingleton<ListenerTlsHandshake>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelSetup>();
        // Kestrel hands each connection's requests to the thread pool unless told otherwise (the environment's
        // DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS inlines the socket layer only, not Kestrel's pipes);
        // Balancer:InlineScheduling (off) runs them inline.
        // With the relay on, the balancer accepts connections itself: Kestrel binds an endpoint through the last
        // registered transport that can (its own socket transport is registered with the web host, before this).
        services.AddSingleton<IConnectionListenerFactory, RelayListenerFactory>();

        services.AddOptions<SocketTransportOptions>().Configure<IOptions<BalancerOptions>>(
            static (sockets, balancer) => sockets.UnsafePreferInlineScheduling = balancer.Value.InlineScheduling);

        services.AddReverseProxy()
            // YARP's client already goes without proxy, redirects, decompression and cookies; its trace propagator
            // adds a DiagnosticsHandler stage to every forwarded request, which here only checks for listeners
            // there are none of. Without it a client's traceparent is forwarded as the plain header it is.
            .ConfigureHttpClient(static (_, handler) => handler.ActivityHeadersPropagator = null)
            .AddTransforms(static transforms =>
            {
                // ELB's X-Forwarded-For/Proto/Port instead of YARP's For/Proto/Host/Prefix.
                transforms.UseDefaultForwarders = false;
                transforms.RequestTransforms.Add(new ElbForwardedHeaders());

                // ALB passes the client's Host to the target (virtual hosts behind one balancer keep working); YARP
                // would send the destination's authority.
                transforms.AddOriginalHost(true);
            });
        // YARP protects its affinity cookies with ASP.NET Data Protection, whose hosted service reads (or creates)
        // the key ring at startup: that loads the XML stack and crypto code, ~6 MiB of resident memory, in every
        // balancer, although most never use stickiness. Without it the key ring is read on the first sticky request.
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i] is { ServiceType: var type, IsKeyedService: false } d && type == typeof(IHostedService) && d.ImplementationType?.FullName == DataProtectionHostedService)
            {
                services.RemoveAt(i);
            }
        }
        services.AddSingleton<RunningClusters>();
        services.AddSingleton<IClusterChangeListener>(sp => sp.GetRequiredService<RunningClusters>());
        services.AddSingleton<IConfigChangeListener>(sp => sp.GetRequiredService<RunningClusters>());
        services.AddSingleton<BalancerProxyConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<BalancerProxyConfigProvider>());
        services.AddSingleton<MatcherPolicy, ListenerRuleMatcherPolicy>();
        services.AddSingleton<ILoadBalancingPolicy, SlowStartPolicy>();
        services.AddSingleton<TargetAvailability>();
        services.AddSingleton<RequestCounts>();

        // Routes to task subnets for ip targets (issue 17), with the agent's route code and the host's `ip`.
        services.TryAddSingleton<IHostCommands, ProcessHostCommands>();
        services.TryAddSingleton(_ => NetAdminCapability.OfThisProcess());
        services.AddSingleton<TaskRouteTable>();
        services.AddSingleton<TaskRouteProgrammer>();
        services.AddHostedService(sp => sp.GetRequiredService<TaskRouteProgrammer>());

        services.AddSingleton<InFlightCounter>();
        services.AddSingleton<WatchClient>();
        services.AddHostedService(sp => sp.GetRequiredService<WatchClient>());
        // Under `berth up`: exit with it, even when it is killed (Berth.Core.Hosting.StopWithParent).
        services.AddStopWithParent();

        // YARP and ASP.NET Core log every request at Information: on a proxy that is the hot path.
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Hosting starts an Activity and a log scope for every request whenever its logger is enabled at any level;
        // SocketsHttpHandler then adds a client Activity and a traceparent header to the forwarded request. Nothing
        // listens to those here, and together they cost several microseconds of CPU per proxied request
        // (docs/benchmarks.md, "Load balancer, second round"). Unhandled request errors are still logged, by Kestrel.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        return builder;
    }

    public static WebApplication MapLoadBalancer(this WebApplication app)
    {
        var lookup = app.Services.GetRequiredService<IProxyStateLookup>();
        var availability = app.Services.GetRequiredService<TargetAvailability>();
        var rules = app.Services.GetRequiredService<BalancerProxyConfigProvider>();
        var requests = app.Services.GetRequiredService<RequestCounts>();
        // Between routing and the endpoints: fixed-response and redirect actions answer here.
        app.UseMiddleware<ActionMiddleware>();
        app.MapAdmin();
        app.MapReverseProxy(proxy =>
        {
            proxy.Use((context, next) =>
            {
                TargetGroupSelection.Apply(context, lookup);
                requests.Count(context.GetReverseProxyFeature().Cluster.Config.ClusterId);
                availability.Apply(context);
                return next(context);
            });
            proxy.UseMiddleware<PassiveHealthRetry>();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
        }).Add(endpoint =>
        {
            // The compiled ELB rule rides on the endpoint, so matching and actions need no lookup per request.
            if (endpoint.Metadata.OfType<RouteModel>().FirstOrDefault() is { } route && rules.FindRule(route.Config) is { } rule)
            {
                endpoint.Metadata.Add(rule);
            }
        });
        return app;
    }
}

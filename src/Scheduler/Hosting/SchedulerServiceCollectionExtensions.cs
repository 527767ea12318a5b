using Berth.Scheduler.V1;
using Berth.ServiceDefaults;
using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Persistence;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Provisioning;
using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.Security;
using Berth.Scheduler.Sessions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Hosting;

/// <summary>Registration of the scheduler's services.</summary>
internal static class SchedulerServiceCollectionExtensions
{
    /// <summary>The address the scheduler listens on when no <c>--urls</c> is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7070";

    /// <summary>Adds options, state, persistence, placement, sessions and gRPC with authentication.</summary>
    public static WebApplicationBuilder AddSchedulerServices(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // gRPC over plain HTTP needs HTTP/2 without negotiation (h2c); with a certificate, TLS carries HTTP/2 too.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));

        var services = builder.Services;
        services.AddOptions<SchedulerOptions>()
            .BindConfiguration(SchedulerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulerOptions>, SchedulerOptionsValidator>();
        // The layout is opened (directory made, modes tightened) before the store or the tokens touch the data dir.
        services.AddSingleton(sp => SchedulerDataDirectory.Open(sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.DataDirectory));
        services.AddSingleton<IStateStore>(sp => new SqliteSchedulerStore(
            sp.GetRequiredService<SchedulerDataDirectory>().Database,
            sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.FullSync,
            sp.GetRequiredService<ILogger<SqliteSchedulerStore>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SchedulerOptions>>().Value;
            return new PlacementEngine(new PlacementOptions { DynamicPortFirst = options.DynamicPortFirst, DynamicPortLast = options.DynamicPortLast });
        });
        services.AddSchedulerState();
        services.AddSingleton<ApiTokens>();
        services.AddSingleton<HostJoinTokens>();
        services.AddSingleton<SessionHub>();
        services.AddSingleton<LogRelay>();
        services.AddSingleton<ExecRelay>();
        services.AddSingleton<AuthInterceptor>();
        // Tokens are created on the first start, before anyone could ask for them.
        services.AddHostedService(sp =>
        {
            sp.GetRequiredService<ApiTokens>();
            return ActivatorUtilities.CreateInstance<StateLoader>(sp);
        });
        services.AddHostedService<SessionHeartbeatService>();
        services.AddRegistryAccess();
        // Host groups make hosts through the provisioner the Provisioning section chooses; without one the scheduler
        // starts as before and refuses to create a host group (it would have no way to make its hosts).
        if (!string.IsNullOrEmpty(builder.Configuration[$"{ProvisioningOptions.Section}:Kind"]))
        {
            services.AddHostProvisioning();
        }

        // Readiness (/readyz and the standard grpc.health.v1.Health service, which probes and grpc_health_probe use
        // where HTTP/1.1 cannot reach an h2c port): the state is loaded and the database opens.
        services.AddHealthChecks()
            .AddCheck<StateLoadedHealthCheck>(StateLoadedHealthCheck.Name, tags: [BerthHealth.Ready])
            .AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name, tags: [BerthHealth.Ready], timeout: BerthHealth.CheckTimeout);
        services.AddGrpcHealthChecks(health =>
        {
            // The server as a whole ("") and each API by its full name answer SERVING when every readiness check passes.
            health.Services.Map(string.Empty, result => result.Tags.Contains(BerthHealth.Ready));
            health.Services.Map(V1.Clusters.Descriptor.FullName, result => result.Tags.Contains(BerthHealth.Ready));
            health.Services.Map(AgentService.Descriptor.FullName, result => result.Tags.Contains(BerthHealth.Ready));
        });
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<AuthInterceptor>();
            grpc.EnableDetailedErrors = false;
        });
        return builder;
    }

    /// <summary>Maps the control-plane and agent gRPC services.</summary>
    public static WebApplication MapSchedulerServices(this WebApplication app)
    {
        app.MapGrpcService<ClusterService>();
        app.MapGrpcService<TaskDefinitionService>();
        app.MapGrpcService<ContainerInstanceService>();
        app.MapGrpcService<TaskService>();
        app.MapGrpcService<ServiceService>();
        app.MapGrpcService<LoadBalancingService>();
        app.MapGrpcService<SecurityGroupService>();
        app.MapGrpcService<ScalingService>();
        app.MapGrpcService<HostGroupService>();
        app.MapGrpcService<CapacityProviderService>();
        app.MapGrpcService<MetricsService>();
        app.MapGrpcService<BalancerWatchService>();
        app.MapGrpcService<AgentSessionService>();
        app.MapGrpcHealthChecksService();
        return app;
    }
}

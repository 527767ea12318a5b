using Berth.Core.Hosting;
using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.Placement;
using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.Security;
using Berth.Scheduler.Services;
using Berth.Scheduler.Sessions;
using Berth.Scheduler.State;
using Berth.Scheduler.State.Persistence;
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
        services.AddSingleton(TimeProvider.System);
        // The layout is opened (directory made, modes tightened) before the store or the tokens touch the data dir.
        services.AddSingleton(sp => SchedulerDataDirectory.Open(sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.DataDirectory));
        services.AddSingleton<ISchedulerStore>(sp => new SqliteSchedulerStore(
            sp.GetRequiredService<SchedulerDataDirectory>().Database,
            sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.FullSync,
            sp.GetRequiredService<ILogger<SqliteSchedulerStore>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SchedulerOptions>>().Value;
            return new PlacementEngine(new PlacementOptions { DynamicPortFirst = options.DynamicPortFirst, DynamicPortLast = options.DynamicPortLast });
        });
        services.AddSingleton<SchedulerState>();
        services.AddSingleton<ApiTokens>();
        services.AddSingleton<SessionHub>();
        services.AddSingleton<LogRelay>();
        services.AddSingleton<AuthInterceptor>();
        // Tokens are created on the first start, before anyone could ask for them.
        services.AddHostedService(sp =>
        {
            sp.GetRequiredService<ApiTokens>();
            return new StateLoader(sp.GetRequiredService<SchedulerState>());
        });
        services.AddHostedService<SessionHeartbeatService>();
        services.AddSingleton<LostHostMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<LostHostMonitor>());
        services.AddHostedService<ServiceReconciler>();
        // Under `berth up`: exit with it, even when it is killed (Berth.Core.Hosting.StopWithParent).
        services.AddStopWithParent();
        services.AddRegistryAccess();
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
        app.MapGrpcService<AgentSessionService>();
        return app;
    }
}

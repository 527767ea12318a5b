using Berth.Scheduler.Clusters;
using Berth.Scheduler.Discovery;
using Berth.Scheduler.Exec;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.LostHosts;
using Berth.Scheduler.Networking;
using Berth.Scheduler.Retention;
using Berth.Scheduler.Scaling;
using Berth.Scheduler.SecurityGroups;
using Berth.Scheduler.Services;
using Berth.Scheduler.Services.Reconcile;
using Berth.Scheduler.Sessions;
using Berth.Scheduler.TaskDefinitions;
using Berth.Scheduler.Tasks;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Hosting;

/// <summary>Registration of the state kernel, the feature handlers that reach the state through it, and their loops.</summary>
internal static class SchedulerStateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the kernel, one handler per feature folder, and the background loops (load, service reconcile, lost hosts,
    /// retention). A new feature (load balancers, capacity providers, ...) adds its handler and loops here.
    /// </summary>
    public static IServiceCollection AddSchedulerState(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>();

        services.AddOptions<AwsvpcOptions>()
            .BindConfiguration(AwsvpcOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AwsvpcOptions>, AwsvpcOptionsValidator>();

        services.AddSingleton<StateKernel>();
        services.AddSingleton<ClusterHandler>();
        services.AddSingleton<TaskDefinitionHandler>();
        services.AddSingleton<InstanceHandler>();
        services.AddSingleton<TaskHandler>();
        services.AddSingleton<ExecHandler>();
        services.AddSingleton<ServiceHandler>();
        services.AddSingleton<AgentHandler>();
        services.AddSingleton<LostHostHandler>();
        services.AddSingleton<DesiredStates>();
        services.AddSingleton<HostNetworks>();
        services.AddSingleton<HostNetworkObserver>();
        services.AddHostedService(sp => sp.GetRequiredService<HostNetworkObserver>());
        services.AddSingleton<DiscoveryObserver>();
        services.AddHostedService(sp => sp.GetRequiredService<DiscoveryObserver>());
        services.AddSingleton<SecurityGroupHandler>();
        services.AddSingleton<SecurityGroupObserver>();
        services.AddHostedService(sp => sp.GetRequiredService<SecurityGroupObserver>());

        services.AddSingleton<LostHostMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<LostHostMonitor>());
        services.AddSingleton<ServiceReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<ServiceReconciler>());
        services.AddSingleton<LoadBalancingHandler>();
        services.AddSingleton<CertificateHandler>();
        services.AddSingleton<BalancerReports>();
        services.AddSingleton<TargetDrainer>();
        services.AddHostedService(sp => sp.GetRequiredService<TargetDrainer>());
        services.AddOptions<ScalingOptions>()
            .BindConfiguration(ScalingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ServiceMetrics>();
        services.AddSingleton<TaskStatsStore>();
        services.AddSingleton<ScalingHandler>();
        services.AddSingleton<ScalingRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<ScalingRunner>());
        services.AddOptions<HostGroupOptions>()
            .BindConfiguration(HostGroupOptions.Section)
            .Validate(o => o.Interval > TimeSpan.Zero, "HostGroups:Interval must be positive.")
            .Validate(o => o.SchedulerUrl is null || (o.SchedulerUrl.IsAbsoluteUri && o.SchedulerUrl.Scheme is "http" or "https"), "HostGroups:SchedulerUrl must be an absolute http or https URL.")
            .ValidateOnStart();
        services.AddSingleton<HostGroupSignal>();
        services.AddSingleton<HostGroupProvisioner>();
        services.AddSingleton<HostGroupHandler>();
        services.AddSingleton<HostGroupReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<HostGroupReconciler>());
        services.AddSingleton<CapacityProviders.CapacityProviderHandler>();
        services.AddOptions<CapacityProviders.CapacityProviderOptions>()
            .BindConfiguration(CapacityProviders.CapacityProviderOptions.Section)
            .Validate(o => o.Interval > TimeSpan.Zero, "CapacityProviders:Interval must be positive.")
            .Validate(o => o.ProvisioningTimeout > TimeSpan.Zero, "CapacityProviders:ProvisioningTimeout must be positive.")
            .Validate(o => o.ScaleInAfter >= TimeSpan.Zero, "CapacityProviders:ScaleInAfter must not be negative.")
            .ValidateOnStart();
        services.AddOptions<Fargate.FargatePoolOptions>()
            .BindConfiguration(Fargate.FargatePoolOptions.Section)
            .Validate(o => o.MaxHosts is >= 0 and <= HostGroupSize.Largest, $"FargatePool:MaxHosts must be between 0 and {HostGroupSize.Largest}.")
            .Validate(o => o.IdleTimeout >= TimeSpan.Zero, "FargatePool:IdleTimeout must not be negative.")
            // The provisioner's request rules, checked once with a stand-in name and token, as a host group's settings are.
            .Validate(o => o.Zones.DefaultIfEmpty("").All(z => (z.Length > 0 || o.Zones.Count == 0) && new Provisioning.HostRequest("h", "c", new Uri("http://scheduler"), "t", z, o.InstanceType).Validate() is null),
                "FargatePool:InstanceType and FargatePool:Zones must be valid attribute values (zones not empty).")
            .Validate(o => o.Zones.Distinct(StringComparer.Ordinal).Count() == o.Zones.Count, "FargatePool:Zones must each be given once.")
            .ValidateOnStart();
        // Whether the pool is on is decided once, at start: a provisioner is configured and the pool not turned off.
        services.AddSingleton<Fargate.FargatePool>();
        services.AddSingleton<CapacityProviders.CapacityProviderReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<CapacityProviders.CapacityProviderReconciler>());
        services.AddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        return services;
    }
}

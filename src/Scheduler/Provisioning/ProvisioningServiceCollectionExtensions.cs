using Berth.Scheduler.Provisioning.Exec;
using Berth.Scheduler.Provisioning.Lab;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Provisioning;

/// <summary>Registration of the host provisioner the <c>Provisioning</c> section chooses, and of <see cref="HostProvisioning"/>.</summary>
internal static class ProvisioningServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IHostProvisioner"/> (lab or exec, from <c>Provisioning:Kind</c>) and <see cref="HostProvisioning"/>,
    /// with options validated at start. Called by the features that make hosts (the FARGATE pool, host groups).
    /// </summary>
    public static IServiceCollection AddHostProvisioning(this IServiceCollection services)
    {
        services.AddOptions<ProvisioningOptions>()
            .BindConfiguration(ProvisioningOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProvisioningOptions>, ProvisioningOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LabHostProvisioner>();
        services.AddSingleton<ExecHostProvisioner>();
        services.AddSingleton<IHostProvisioner>(sp => sp.GetRequiredService<IOptions<ProvisioningOptions>>().Value.Kind == "exec"
            ? sp.GetRequiredService<ExecHostProvisioner>()
            : sp.GetRequiredService<LabHostProvisioner>());
        services.AddSingleton<HostProvisioning>();
        return services;
    }
}

using Microsoft.Extensions.Options;

namespace Berth.Scheduler.RegistryAccess;

/// <summary>Registration of the trusted registry's pull credentials.</summary>
internal static class RegistryAccessServiceCollectionExtensions
{
    /// <summary>Adds <see cref="RegistryAccessOptions"/>, the login-password refresher and the per-task credential attacher.</summary>
    public static IServiceCollection AddRegistryAccess(this IServiceCollection services)
    {
        services.AddOptions<RegistryAccessOptions>()
            .BindConfiguration(RegistryAccessOptions.Section)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RegistryAccessOptions>, RegistryAccessOptionsValidator>();
        services.AddHttpClient(RegistryLoginPasswords.HttpClientName);
        services.AddSingleton<RegistryLoginPasswords>();
        services.AddHostedService(sp => sp.GetRequiredService<RegistryLoginPasswords>());
        services.AddSingleton<TaskRegistryCredentials>();
        return services;
    }
}

using Berth.Registry.Outbox;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Replication;

internal static class ReplicationServiceCollectionExtensions
{
    /// <summary>
    /// The configuration (loaded before the registry takes requests), its API, and, unless turned off, the outbox
    /// interest and the worker. A registry whose configuration has no rules records nothing for replication.
    /// </summary>
    public static WebApplicationBuilder AddRegistryReplication(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ReplicationOptions>().BindConfiguration(ReplicationOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReplicationOptions>, ReplicationOptionsValidator>();
        builder.AddChangeOutbox();
        services.AddSingleton<ReplicationConfigurationHolder>();
        services.AddSingleton<ReplicationStore>();
        services.AddHostedService<ReplicationStartup>();
        var enabled = builder.Configuration.GetValue(ReplicationOptions.SectionName + ":" + nameof(ReplicationOptions.Enabled), true);
        if (!enabled)
        {
            return builder;
        }

        services.AddSingleton<IOutboxInterest>(provider => provider.GetRequiredService<ReplicationConfigurationHolder>());
        services.AddSingleton<IOutboxConsumer, ReplicationOutboxConsumer>();
        services.AddSingleton<ImageCopier>();
        services.AddSingleton<ReplicationWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<ReplicationWorker>());
        return builder;
    }

    /// <summary>Loads the stored configuration once the database is open (after RegistryStartup), before the worker starts.</summary>
    private sealed class ReplicationStartup(ReplicationStore store, ReplicationConfigurationHolder configuration) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (await store.LoadConfigurationAsync(cancellationToken) is { } document)
            {
                configuration.Set(ReplicationRules.FromDocument(document));
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

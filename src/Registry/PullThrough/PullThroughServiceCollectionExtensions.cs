using Microsoft.Extensions.Options;

namespace Berth.Registry.PullThrough;

internal static class PullThroughServiceCollectionExtensions
{
    /// <summary>The rules (loaded before the registry takes requests), their store, the cache the dispatcher asks, and its options.</summary>
    public static WebApplicationBuilder AddRegistryPullThroughCache(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<PullThroughOptions>().BindConfiguration(PullThroughOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<PullThroughOptions>, PullThroughOptionsValidator>();
        services.AddSingleton<PullThroughRules>();
        services.AddSingleton<PullThroughStore>();
        services.AddSingleton<PullThroughCache>();
        services.AddHostedService<PullThroughStartup>();
        return builder;
    }

    /// <summary>Loads the rules once the database is open (after RegistryStartup).</summary>
    private sealed class PullThroughStartup(PullThroughStore store, PullThroughRules rules) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken) => rules.Set(await store.LoadAsync());

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

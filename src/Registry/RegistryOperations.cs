using Berth.Registry.Gc;
using Berth.Registry.Images;
using Berth.Registry.Lifecycle;
using Berth.Registry.PullThrough;
using Berth.Registry.Replication;
using Berth.Registry.Repositories;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;
using Berth.RegistryAdmin;

namespace Berth.Registry;

/// <summary>
/// Registry operations in ECR's vocabulary (issue 15): repositories with settings, image details, garbage collection,
/// lifecycle policies, replication, the pull-through cache, and their admin API. Added after <see cref="RegistryServiceCollectionExtensions.AddRegistryServices"/>, whose start-up opens the
/// database before these load from it.
/// </summary>
internal static class RegistryOperations
{
    public static WebApplicationBuilder AddRegistryOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RepositoryOptions>().BindConfiguration(RepositoryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(provider => (SqliteMetadataStore)provider.GetRequiredService<IMetadataStore>());
        services.AddSingleton<IRepositoryMetadata, SqliteRepositoryMetadata>();
        services.AddSingleton<IImageMetadata, SqliteImageMetadata>();
        services.AddSingleton<RepositoryCatalog>();
        services.AddOptions<GcOptions>().BindConfiguration(GcOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IGcMetadata, SqliteGcMetadata>();
        services.AddSingleton<GarbageCollector>();
        services.AddHostedService(provider => provider.GetRequiredService<GarbageCollector>());
        services.AddSingleton<PullRecorder>();
        services.AddOptions<LifecycleOptions>().BindConfiguration(LifecycleOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ILifecycleMetadata, SqliteLifecycleMetadata>();
        services.AddSingleton<LifecyclePolicies>();
        services.AddHostedService(provider => provider.GetRequiredService<LifecyclePolicies>());
        services.AddHostedService<OperationsStartup>();
        services.AddHostedService(provider => provider.GetRequiredService<PullRecorder>());
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, RegistryOperationsJsonContext.Default));
        builder.AddRegistryReplication();
        builder.AddRegistryPullThroughCache();
        return builder;
    }

    /// <summary>The operations endpoints, inside the admin API's group (authenticated, admins only).</summary>
    public static RouteGroupBuilder MapRegistryOperations(this RouteGroupBuilder admin) =>
        admin.MapRepositoryApi().MapImageApi().MapGcApi().MapLifecycleApi().MapReplicationApi().MapPullThroughApi();

    /// <summary>Loads repository settings and templates once the database is open (after RegistryStartup).</summary>
    private sealed class OperationsStartup(RepositoryCatalog catalog) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => catalog.LoadAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

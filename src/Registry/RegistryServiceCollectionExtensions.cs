using Berth.Registry.Access;
using Berth.Registry.Blobs;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Manifests;
using Berth.Registry.Notifications;
using Berth.Registry.Referrers;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Sqlite;
using Berth.Registry.Tags;
using Berth.Registry.Uploads;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Berth.Registry;

internal static class RegistryServiceCollectionExtensions
{
    /// <summary>Options, storage (SQLite metadata, filesystem blobs), the in-memory index, readiness and the endpoints.</summary>
    public static WebApplicationBuilder AddRegistryServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RegistryOptions>()
            .BindConfiguration(RegistryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Blob uploads are unbounded streams; manifests enforce their own limit. Header size is the registry's own
        // check (RequestHeaderLimit), so Kestrel's limit is only a backstop above it.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<RegistryOptions>>((kestrel, registry) =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxResponseBufferSize = BodyBuffering.ResponseBuffer;
            RequestHeaderLimit.ConfigureKestrel(kestrel.Limits, registry.Value.MaxRequestHeaderBytes);
        });

        // The transport's read-ahead is its own setting (1 MiB by default), not Kestrel's MaxRequestBufferSize.
        services.Configure<SocketTransportOptions>(sockets => sockets.MaxReadBufferSize = BodyBuffering.ReadAhead);

        // The layout is opened (directories made, modes tightened) before any part of the registry touches the data dir.
        services.AddSingleton(provider => RegistryDataDirectory.Open(provider.GetRequiredService<IOptions<RegistryOptions>>().Value.DataDir));
        services.TryAddSingleton<IRegistryAccessPolicy, AllowAllAccessPolicy>();
        services.AddSingleton<IMetadataStore, SqliteMetadataStore>();
        services.AddSingleton<IBlobStore, FileSystemBlobStore>();
        services.AddSingleton<RegistryStore>();
        services.AddSingleton<RequestTraffic>();
        services.AddSingleton<UploadManager>();
        services.AddSingleton<BlobEndpoints>();
        services.AddSingleton<UploadEndpoints>();
        services.AddSingleton<ManifestEndpoints>();
        services.AddSingleton<ListEndpoints>();
        services.AddSingleton<ReferrersEndpoint>();
        services.AddSingleton<RegistryDispatcher>();
        services.AddHostedService<RegistryStartup>();
        services.AddHostedService<UploadJanitor>();
        // Ready once both databases open; the index is loaded before Kestrel listens (RegistryStartup), so a registry
        // that answers at all has it.
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name, tags: [ServiceDefaults.BerthHealth.Ready], timeout: ServiceDefaults.BerthHealth.CheckTimeout);
        builder.AddRegistryNotifications();
        return builder;
    }

    /// <summary>Hands every request to the registry's dispatcher (no endpoint routing on the hot path).</summary>
    public static WebApplication MapRegistry(this WebApplication app)
    {
        var dispatcher = app.Services.GetRequiredService<RegistryDispatcher>();
        var maxHeaderBytes = app.Services.GetRequiredService<IOptions<RegistryOptions>>().Value.MaxRequestHeaderBytes;
        var traffic = app.Services.GetRequiredService<RequestTraffic>();
        app.Use((context, next) =>
        {
            // Every request, the admin API's and health checks included: background work yields to all of them.
            traffic.Note();
            if (RequestHeaderLimit.Check(context, maxHeaderBytes) is { } tooLarge)
            {
                context.Response.Headers[RegistryHeaders.ApiVersion] = RegistryHeaders.ApiVersionValue;
                return ErrorWriter.WriteAsync(context, tooLarge);
            }

            // Requests that matched a mapped endpoint (the token endpoint, the admin API) go on to it; everything else
            // is the registry's.
            return context.GetEndpoint() is null ? dispatcher.InvokeAsync(context) : next(context);
        });
        return app;
    }
}

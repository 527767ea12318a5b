using Berth.Registry.Outbox;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

internal static class NotificationsServiceCollectionExtensions
{
    /// <summary>
    /// Options and the pull-event buffer always (validated at start; the buffer idles without an endpoint that wants
    /// pulls); the outbox interest, the HTTP context accessor and the senders only when
    /// endpoints are configured, so a registry without notifications pays nothing on any request. Registered after the
    /// registry's start-up service: the senders read their cursors from the migrated database before Kestrel listens.
    /// </summary>
    public static WebApplicationBuilder AddRegistryNotifications(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<NotificationOptions>().BindConfiguration(NotificationOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsValidator>();
        builder.AddChangeOutbox();

        // Always there (the manifest and blob endpoints ask it), idle unless some endpoint wants pulls.
        services.AddSingleton<PullEvents>();
        services.AddHostedService(provider => provider.GetRequiredService<PullEvents>());
        var configured = builder.Configuration.GetSection(NotificationOptions.SectionName + ":Endpoints").GetChildren().Any();
        if (!configured)
        {
            return builder;
        }

        services.AddHttpContextAccessor();
        services.AddSingleton<NotificationInterest>();
        services.AddSingleton<IOutboxInterest>(provider => provider.GetRequiredService<NotificationInterest>());
        services.AddSingleton<IOutboxConsumer>(provider => provider.GetRequiredService<NotificationInterest>());
        services.AddSingleton<NotificationSender>();
        services.AddHostedService(provider => provider.GetRequiredService<NotificationSender>());
        return builder;
    }
}

using Berth.Registry.Outbox;
using Berth.RegistryAdmin;

namespace Berth.Registry.Notifications;

/// <summary>The admin API's notification routes (inside the admin group: admins only).</summary>
internal static class NotificationsAdmin
{
    public static RouteGroupBuilder MapNotificationsAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet(SyncApiPaths.NotificationEndpoints[AdminApiPaths.Prefix.Length..], ListEndpointsAsync);
        return admin;
    }

    private static async Task<List<NotificationEndpointStatus>> ListEndpointsAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        // Registered only when endpoints are configured.
        if (services.GetService<NotificationSender>() is not { } sender)
        {
            return [];
        }

        var queue = services.GetRequiredService<ChangeOutbox>();
        var list = new List<NotificationEndpointStatus>();
        foreach (var state in sender.Endpoints)
        {
            var endpoint = state.Endpoint;
            var snapshot = state.Snapshot();
            var pending = await queue.CountPendingAsync(snapshot.Cursor, endpoint.EffectiveActions, cancellationToken);
            list.Add(new NotificationEndpointStatus(
                endpoint.Name,
                endpoint.Url!.ToString(),
                [.. endpoint.EffectiveActions],
                pending,
                snapshot.Cursor,
                snapshot.Delivered,
                snapshot.Failures,
                snapshot.ConsecutiveFailures,
                snapshot.LastError,
                snapshot.LastErrorAt,
                snapshot.LastDeliveredAt,
                snapshot.NextAttemptAt));
        }

        return list;
    }
}

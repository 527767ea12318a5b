namespace Berth.RegistryAdmin;

public sealed partial class RegistryAdminClient
{
    /// <summary>Every configured notification endpoint with its delivery status.</summary>
    public Task<List<NotificationEndpointStatus>> ListNotificationEndpointsAsync(CancellationToken cancellationToken) =>
        GetAsync(SyncApiPaths.NotificationEndpoints, Json.ListNotificationEndpointStatus, cancellationToken);
}

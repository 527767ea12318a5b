namespace Berth.RegistryAdmin;

/// <summary>Admin paths of the registry's outbound features: notifications, replication, pull-through cache.</summary>
public static class SyncApiPaths
{
    /// <summary><c>GET</c>: every configured notification endpoint with its delivery status.</summary>
    public const string NotificationEndpoints = AdminApiPaths.Prefix + "/notifications/endpoints";
}

/// <summary>A notification endpoint and how delivery to it is going.</summary>
/// <param name="Name">The endpoint's configured name.</param>
/// <param name="Url">Where events are POSTed.</param>
/// <param name="Actions">The actions it receives (push, delete, pull).</param>
/// <param name="Pending">Events of those actions queued and not yet acknowledged by the endpoint.</param>
/// <param name="LastEventId">The id of the last event the endpoint acknowledged (0: none yet).</param>
/// <param name="Delivered">Events delivered since the registry started.</param>
/// <param name="Failures">Failed attempts since the registry started.</param>
/// <param name="ConsecutiveFailures">Failed attempts since the last success (0 when healthy).</param>
/// <param name="LastError">What the last failed attempt met.</param>
/// <param name="LastErrorAt">When.</param>
/// <param name="LastDeliveredAt">When events were last acknowledged.</param>
/// <param name="NextAttemptAt">When a failing endpoint is tried again; null when it is not failing.</param>
public sealed record NotificationEndpointStatus(
    string Name,
    string Url,
    IReadOnlyList<string> Actions,
    long Pending,
    long LastEventId,
    long Delivered,
    long Failures,
    int ConsecutiveFailures,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastDeliveredAt,
    DateTimeOffset? NextAttemptAt);

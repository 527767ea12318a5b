using System.Text.Json.Serialization;

namespace Berth.Registry.Notifications;

// distribution's notification event (notifications/event.go), field for field: receivers written for distribution
// (Harbor's, Jenkins plugins, small webhooks) read these names. Wire types only: the journal builds them.

/// <summary>One event of the envelope.</summary>
internal sealed record NotificationEvent(
    string Id,
    DateTimeOffset Timestamp,
    string Action,
    NotificationTarget Target,
    NotificationRequest? Request,
    NotificationActor? Actor,
    NotificationSource Source);

/// <summary>What the event is about: a manifest (by digest, with its tag when one was pushed or deleted) or a blob.</summary>
internal sealed record NotificationTarget(
    string? MediaType,
    long? Size,
    string? Digest,
    long? Length,
    string Repository,
    string? Url,
    string? Tag);

/// <summary>The request that caused the event.</summary>
internal sealed record NotificationRequest(
    string? Id,
    string? Addr,
    string? Host,
    string? Method,
    [property: JsonPropertyName("useragent")] string? UserAgent);

/// <summary>Who made the request, when the registry knows.</summary>
internal sealed record NotificationActor(string? Name);

/// <summary>The registry instance that emitted the event.</summary>
internal sealed record NotificationSource(string Addr, [property: JsonPropertyName("instanceID")] string InstanceId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NotificationEvent))]
internal sealed partial class NotificationJsonContext : JsonSerializerContext;

using System.Globalization;
using System.Net;
using Berth.Registry.Auth.Credentials;
using Berth.Registry.Http;

namespace Berth.Registry.Notifications;

/// <summary>
/// What an event says about the request that caused it, read while the request is live: a push or delete turns it into
/// JSON at once (inside its transaction), a pull keeps it until the next flush of pull events, after the request is
/// gone. Capturing costs a few references (the strings are the request's own) and one string, the URL base; the address
/// and the URLs are formatted only when the event is written (<see cref="NotificationEventWriter"/>, without strings).
/// </summary>
internal sealed class RequestFacts
{
    private RequestFacts(HttpContext context)
    {
        var request = context.Request;
        Id = context.TraceIdentifier;
        RemoteIp = context.Connection.RemoteIpAddress;
        RemotePort = context.Connection.RemotePort;
        Host = request.Host.Value;
        Method = request.Method;
        UserAgent = request.Headers.UserAgent.ToString();
        // The account name when the request carried Basic credentials (decoded now: a pull's facts wait in memory for
        // the next flush, and the password must not wait with them); a bearer token's subject is not decoded again here.
        ActorName = request.Headers.Authorization is [{ } authorization] && authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)
            ? CredentialVerifier.ReadBasic(authorization)?.Username
            : null;
        UrlBase = RegistryHeaders.AbsoluteUrl(request, "");
    }

    public string Id { get; }

    public IPAddress? RemoteIp { get; }

    public int RemotePort { get; }

    /// <summary>The account name, when the request carried Basic credentials.</summary>
    public string? ActorName { get; }

    public string? Host { get; }

    public string Method { get; }

    public string UserAgent { get; }

    /// <summary>scheme://host[/path base] as the client addressed the registry (forwarded headers honoured).</summary>
    public string UrlBase { get; }

    public static RequestFacts Capture(HttpContext context) => new(context);

    /// <summary>The URL of a manifest or blob (<paramref name="kind"/>: <c>manifests</c> or <c>blobs</c>) at this registry.</summary>
    public string Url(string repository, string kind, string digest) => string.Concat(UrlBase, "/v2/", repository, "/", kind, "/", digest);

    public NotificationRequest ToRequest() => new(
        Id,
        RemoteIp is { } ip ? string.Create(CultureInfo.InvariantCulture, $"{ip}:{RemotePort}") : null,
        Host,
        Method,
        UserAgent);

    public NotificationActor? Actor() => ActorName is null ? null : new NotificationActor(ActorName);
}

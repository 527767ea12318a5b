using System.Text.Json;
using Berth.Registry.Http;
using Berth.Registry.Notifications;
using Berth.Registry.Storage;

namespace Berth.Registry.Outbox;

/// <summary>Says which changes one outbox consumer needs a row for (asked inside the change's transaction: cheap, no I/O).</summary>
internal interface IOutboxInterest
{
    bool Wants(in RegistryChange change);
}

/// <summary>
/// Turns a committed-to-be change into the outbox row the metadata store writes in the change's transaction (the
/// event as distribution's notification JSON, fixed now: its id, time and request), and wakes the consumers after the
/// commit. One row per change however many consumers want it (notification endpoints, replication): only changes some
/// consumer wants get a row, so with none a write costs nothing more. The request comes from
/// <see cref="IHttpContextAccessor"/>, which is registered only when notifications are configured (it costs every
/// request an async-local write, and only notifications carry the request).
/// </summary>
internal sealed class OutboxJournal(IEnumerable<IOutboxInterest> interests, TimeProvider time, ChangeSignal signal, IHttpContextAccessor? http = null) : IChangeJournal
{
    private readonly IOutboxInterest[] _interests = [.. interests];
    private readonly NotificationSource _source = new(Environment.MachineName, Guid.NewGuid().ToString());

    public JournalEntry? Describe(in RegistryChange change)
    {
        foreach (var interest in _interests)
        {
            if (interest.Wants(change))
            {
                return new JournalEntry(ActionName(change.Action), Serialize(change));
            }
        }

        return null;
    }

    public void Committed() => signal.Wake();

    public static string ActionName(ChangeAction action) => action switch
    {
        ChangeAction.Push => "push",
        ChangeAction.Delete => "delete",
        _ => "pull",
    };

    public string Serialize(in RegistryChange change)
    {
        var context = http?.HttpContext;
        var request = context?.Request;
        string? url = null;
        if (request is not null && change.Digest is { } digest)
        {
            var kind = request.Path.Value?.Contains("/blobs/", StringComparison.Ordinal) == true ? "blobs" : "manifests";
            url = RegistryHeaders.AbsoluteUrl(request, $"/v2/{change.Repository}/{kind}/{digest}");
        }

        var notification = new NotificationEvent(
            Guid.NewGuid().ToString(),
            time.GetUtcNow(),
            ActionName(change.Action),
            new NotificationTarget(
                change.MediaType,
                change.MediaType is null ? null : change.Size,
                change.Digest,
                change.MediaType is null ? null : change.Size,
                change.Repository,
                url,
                change.Tag),
            context is null
                ? null
                : new NotificationRequest(
                    context.TraceIdentifier,
                    context.Connection.RemoteIpAddress is { } ip ? $"{ip}:{context.Connection.RemotePort}" : null,
                    request!.Host.Value,
                    request.Method,
                    request.Headers.UserAgent.ToString()),
            Actor(context),
            _source);
        return JsonSerializer.Serialize(notification, NotificationJsonContext.Default.NotificationEvent);
    }

    // The account name when the request carried Basic credentials; a bearer token's subject is not decoded again here.
    private static NotificationActor? Actor(HttpContext? context) =>
        context is not null && Auth.Credentials.CredentialVerifier.ReadBasic(context.Request.Headers.Authorization) is { } basic
            ? new NotificationActor(basic.Username)
            : null;
}

/// <summary>Wakes every outbox consumer after a commit that recorded events.</summary>
internal sealed class ChangeSignal
{
    private readonly List<Action> _listeners = [];

    public void Subscribe(Action wake)
    {
        lock (_listeners)
        {
            _listeners.Add(wake);
        }
    }

    public void Wake()
    {
        lock (_listeners)
        {
            foreach (var wake in _listeners)
            {
                wake();
            }
        }
    }
}

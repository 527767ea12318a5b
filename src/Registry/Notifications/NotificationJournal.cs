using System.Text.Json;
using Berth.Registry.Http;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// Turns a committed-to-be change into the outbox row the metadata store writes in the change's transaction (the
/// event as JSON, fixed now: its id, time and request), and wakes the senders after the commit. Only actions some
/// endpoint wants get a row. The request comes from <see cref="IHttpContextAccessor"/>, which is registered only when
/// notifications are configured (it costs every request an async-local write).
/// </summary>
internal sealed class NotificationJournal : IChangeJournal
{
    private readonly TimeProvider _time;
    private readonly IHttpContextAccessor? _http;
    private readonly NotificationSignal _signal;
    private readonly bool _push;
    private readonly bool _delete;
    private readonly NotificationSource _source = new(Environment.MachineName, Guid.NewGuid().ToString());

    public NotificationJournal(IOptions<NotificationOptions> options, TimeProvider time, NotificationSignal signal, IHttpContextAccessor? http = null)
    {
        _time = time;
        _http = http;
        _signal = signal;
        var actions = options.Value.Endpoints.SelectMany(e => e.EffectiveActions).ToHashSet(StringComparer.Ordinal);
        _push = actions.Contains("push");
        _delete = actions.Contains("delete");
        WantsPulls = actions.Contains("pull");
    }

    /// <summary>Whether some endpoint receives pull events (else a pull records nothing).</summary>
    public bool WantsPulls { get; }

    public JournalEntry? Describe(in RegistryChange change)
    {
        var wanted = change.Action switch
        {
            ChangeAction.Push => _push,
            ChangeAction.Delete => _delete,
            _ => WantsPulls,
        };
        return wanted ? new JournalEntry(ActionName(change.Action), Serialize(change)) : null;
    }

    public void Committed() => _signal.Wake();

    public static string ActionName(ChangeAction action) => action switch
    {
        ChangeAction.Push => "push",
        ChangeAction.Delete => "delete",
        _ => "pull",
    };

    public string Serialize(in RegistryChange change)
    {
        var context = _http?.HttpContext;
        var request = context?.Request;
        string? url = null;
        if (request is not null && change.Digest is { } digest)
        {
            var kind = request.Path.Value?.Contains("/blobs/", StringComparison.Ordinal) == true ? "blobs" : "manifests";
            url = RegistryHeaders.AbsoluteUrl(request, $"/v2/{change.Repository}/{kind}/{digest}");
        }

        var notification = new NotificationEvent(
            Guid.NewGuid().ToString(),
            _time.GetUtcNow(),
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

/// <summary>Wakes every endpoint's sender after a commit that recorded events.</summary>
internal sealed class NotificationSignal
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

using Berth.Registry.Outbox;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Notifications;

/// <summary>
/// Notifications as an outbox consumer: a row for the actions some endpoint receives, and a cursor per endpoint (named
/// as the endpoint, which keeps its place across restarts).
/// </summary>
internal sealed class NotificationInterest : IOutboxInterest, IOutboxConsumer
{
    private readonly bool _push;
    private readonly bool _delete;
    private readonly bool _pull;

    public NotificationInterest(IOptions<NotificationOptions> options)
    {
        var endpoints = options.Value.Endpoints;
        var actions = endpoints.SelectMany(e => e.EffectiveActions).ToHashSet(StringComparer.Ordinal);
        _push = actions.Contains("push");
        _delete = actions.Contains("delete");
        _pull = actions.Contains("pull");
        CursorNames = [.. endpoints.Select(e => e.Name)];
    }

    public IReadOnlyCollection<string> CursorNames { get; }

    public bool Wants(in RegistryChange change) => change.Action switch
    {
        ChangeAction.Push => _push,
        ChangeAction.Delete => _delete,
        _ => _pull,
    };
}

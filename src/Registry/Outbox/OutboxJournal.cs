using System.Buffers;
using System.Text.Json;
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
/// event as distribution's notification JSON in UTF-8, fixed now: its id, time and request), and wakes the consumers after the
/// commit. One row per change however many consumers want it (notification endpoints, replication): only changes some
/// consumer wants get a row, so with none a write costs nothing more. The request comes from
/// <see cref="IHttpContextAccessor"/>, which is registered only when notifications are configured (it costs every
/// request an async-local write, and only notifications carry the request).
/// </summary>
internal sealed class OutboxJournal(IEnumerable<IOutboxInterest> interests, TimeProvider time, ChangeSignal signal, IHttpContextAccessor? http = null) : IChangeJournal
{
    private readonly IOutboxInterest[] _interests = [.. interests];
    private readonly NotificationEventWriter.EncodedSource _source = new(new NotificationSource(Environment.MachineName, Guid.NewGuid().ToString()));

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

    /// <summary>The event of a change now, as distribution's JSON in UTF-8, with a fresh id and the current request.</summary>
    public byte[] Serialize(in RegistryChange change)
    {
        var context = http?.HttpContext;
        var kind = context?.Request.Path.Value?.Contains("/blobs/", StringComparison.Ordinal) == true ? "blobs" : "manifests";
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, change, kind, context is null ? null : RequestFacts.Capture(context), time.GetUtcNow());
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Writes the event as distribution's JSON, with a fresh id: for a change now, and for a pull (<see cref="PullEvents"/>)
    /// when its batch is written, with the time and the request noted when it was served.
    /// </summary>
    /// <param name="kind"><c>manifests</c> or <c>blobs</c>: which URL the target's <c>url</c> names.</param>
    public void Write(Utf8JsonWriter writer, in RegistryChange change, string kind, RequestFacts? request, DateTimeOffset at) =>
        NotificationEventWriter.Write(writer, Guid.NewGuid(), at, ActionName(change.Action), change, kind, request, _source);
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

namespace Berth.Registry.Notifications;

/// <summary>
/// What one endpoint's sender has done since the process started, for the admin API. Written by that sender only,
/// read by the admin API: one lock, held for a few assignments.
/// </summary>
internal sealed class EndpointState(NotificationEndpointOptions endpoint)
{
    private readonly Lock _lock = new();
    private long _cursor;
    private long _delivered;
    private long _failures;
    private int _consecutiveFailures;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private DateTimeOffset? _lastDeliveredAt;
    private DateTimeOffset? _nextAttemptAt;

    public NotificationEndpointOptions Endpoint { get; } = endpoint;

    public long Cursor
    {
        get
        {
            lock (_lock)
            {
                return _cursor;
            }
        }
    }

    public void Start(long cursor)
    {
        lock (_lock)
        {
            _cursor = cursor;
        }
    }

    public void Delivered(long cursor, int events, DateTimeOffset at)
    {
        lock (_lock)
        {
            _cursor = cursor;
            _delivered += events;
            _consecutiveFailures = 0;
            _nextAttemptAt = null;
            if (events > 0)
            {
                _lastDeliveredAt = at;
            }
        }
    }

    public void Failed(string error, DateTimeOffset at, DateTimeOffset next)
    {
        lock (_lock)
        {
            _failures++;
            _consecutiveFailures++;
            _lastError = error;
            _lastErrorAt = at;
            _nextAttemptAt = next;
        }
    }

    public EndpointSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new EndpointSnapshot(_cursor, _delivered, _failures, _consecutiveFailures, _lastError, _lastErrorAt, _lastDeliveredAt, _nextAttemptAt);
        }
    }
}

internal sealed record EndpointSnapshot(
    long Cursor,
    long Delivered,
    long Failures,
    int ConsecutiveFailures,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastDeliveredAt,
    DateTimeOffset? NextAttemptAt);

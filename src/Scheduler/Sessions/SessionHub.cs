using System.Collections.Concurrent;
using Berth.Scheduler.State;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.Sessions;

/// <summary>The connected agents' sessions, one per instance; routes desired-state changes to them.</summary>
internal sealed class SessionHub
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly SchedulerState _state;
    private readonly TimeProvider _time;

    public SessionHub(SchedulerState state, TimeProvider time)
    {
        _state = state;
        _time = time;
        state.DesiredStateChanged += OnDesiredStateChanged;
    }

    public int Count => _sessions.Count;

    /// <summary>Makes this the instance's session; an older one is closed (the newest connection wins).</summary>
    public void Attach(AgentSession session)
    {
        AgentSession? previous = null;
        _sessions.AddOrUpdate(session.InstanceId, session, (_, old) =>
        {
            previous = old;
            return session;
        });
        previous?.Close();
    }

    /// <summary>The instance's current session, or null when its agent is not connected.</summary>
    public AgentSession? Find(string instanceId) => _sessions.GetValueOrDefault(instanceId);

    public void Detach(AgentSession session) => _sessions.TryRemove(new KeyValuePair<string, AgentSession>(session.InstanceId, session));

    private void OnDesiredStateChanged(IReadOnlyCollection<string> instanceIds)
    {
        foreach (var id in instanceIds)
        {
            if (_sessions.TryGetValue(id, out var session))
            {
                session.MarkDesiredStateChanged();
            }
        }
    }

    /// <summary>Sends a heartbeat on every session and closes those silent for longer than <paramref name="maxSilence"/>.</summary>
    public int Tick(TimeSpan maxSilence)
    {
        var closed = 0;
        var now = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        foreach (var session in _sessions.Values)
        {
            if (session.Silence > maxSilence)
            {
                session.Close();
                closed++;
                continue;
            }

            session.Send(new SchedulerMessage { Heartbeat = new Heartbeat { SentAt = now, DesiredVersion = _state.DesiredVersionOf(session.InstanceId) } });
        }

        return closed;
    }
}

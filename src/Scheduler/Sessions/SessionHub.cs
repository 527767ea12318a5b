using System.Collections.Concurrent;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// The connected agents' sessions, one per instance. It follows the change feed: an instance whose desired task set
/// changed has its session marked, and the session's writer sends the newest set.
/// </summary>
internal sealed class SessionHub : IChangeObserver
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly AgentHandler _agents;
    private readonly TimeProvider _time;

    public SessionHub(StateKernel kernel, AgentHandler agents, TimeProvider time)
    {
        _agents = agents;
        _time = time;
#pragma warning disable CA2000 // subscribed for the kernel's whole life: both are singletons of the same host.
        kernel.Subscribe(this);
#pragma warning restore CA2000
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

    public void OnCommitted(CommittedChange change)
    {
        foreach (var id in change.DesiredStateChanged)
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

            session.Send(new SchedulerMessage { Heartbeat = new Heartbeat { SentAt = now, DesiredVersion = _agents.DesiredVersionOf(session.InstanceId) } });
        }

        return closed;
    }
}

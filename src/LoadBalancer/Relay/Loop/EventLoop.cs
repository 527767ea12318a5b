using System.Collections.Concurrent;

namespace Berth.LoadBalancer.Relay.Loop;

/// <summary>
/// One thread waiting on one epoll set, running the relay's connections registered with it: their socket events
/// complete their awaits on this thread (no thread pool, no socket engine queues), and work posted from other threads
/// runs here too. A connection and the target connections it uses belong to one loop.
/// </summary>
internal sealed unsafe class EventLoop : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeUp = ulong.MaxValue;

    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly int _epoll = Epoll.Create();
    private readonly int _wakeUp = Epoll.CreateEventFd();
    private readonly ConcurrentQueue<(Action<object?> Work, object? State)> _posted = new();
    private readonly List<LoopSocket?> _sockets = [];
    private readonly Stack<int> _free = new();
    private readonly Thread _thread;
    private volatile bool _stopping;

    public EventLoop(int index)
    {
        Index = index;
        Epoll.Add(_epoll, _wakeUp, Epoll.In | Epoll.EdgeTriggered, WakeUp);
        _thread = new Thread(Run) { IsBackground = true, Name = $"Berth relay loop {index}" };
        _thread.Start();
    }

    /// <summary>The loop whose thread this is, or null.</summary>
    public static EventLoop? Current => t_current;

    public int Index { get; }

    /// <summary>Runs <paramref name="work"/> on the loop's thread.</summary>
    public void Post(Action<object?> work, object? state)
    {
        _posted.Enqueue((work, state));
        Epoll.Signal(_wakeUp);
    }

    /// <summary>Adds a socket's descriptor to the set (on the loop's thread).</summary>
    internal ulong Register(LoopSocket socket, int fd)
    {
        var slot = _free.Count > 0 ? _free.Pop() : Add();
        _sockets[slot] = socket;
        var key = ((ulong)socket.Generation << 32) | (uint)slot;
        Epoll.Add(_epoll, fd, Epoll.In | Epoll.Out | Epoll.RdHup | Epoll.EdgeTriggered, key);
        return key;

        int Add()
        {
            _sockets.Add(null);
            return _sockets.Count - 1;
        }
    }

    internal void Unregister(ulong key, int fd)
    {
        Epoll.Remove(_epoll, fd);
        var slot = (int)(uint)key;
        _sockets[slot] = null;
        _free.Push(slot);
    }

    public void Dispose()
    {
        _stopping = true;
        Epoll.Signal(_wakeUp);
        _thread.Join();
        Epoll.Close(_wakeUp);
        Epoll.Close(_epoll);
    }

    private void Run()
    {
        t_current = this;
        var events = stackalloc Epoll.Event[MaxEvents];
        while (!_stopping)
        {
            var n = Epoll.Wait(_epoll, events, MaxEvents, -1);
            for (var i = 0; i < n; i++)
            {
                var key = events[i].Data;
                if (key == WakeUp)
                {
                    Epoll.Drain(_wakeUp);
                    RunPosted();
                    continue;
                }

                var slot = (int)(uint)key;
                if (_sockets[slot] is { } socket && socket.Generation == (uint)(key >> 32))
                {
                    socket.OnEvents(events[i].Events);
                }
            }
        }
    }

    private void RunPosted()
    {
        while (_posted.TryDequeue(out var item))
        {
            item.Work(item.State);
        }
    }
}

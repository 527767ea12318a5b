using System.Collections.Concurrent;

namespace Berth.LoadBalancer.Relay.Loops;

/// <summary>
/// One thread waiting on one epoll set, running the relay's connections registered with it: their socket events
/// complete their awaits on this thread (no thread pool, no socket engine queues), and work posted from other threads
/// runs here too. A connection and the target connections it uses belong to one loop.
/// </summary>
internal sealed unsafe partial class EventLoop : IDisposable
{
    private const int MaxEvents = 256;

    // How often waits are checked against their deadlines (and so how late a timeout may fire).
    private const int SweepMs = 100;
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
    private volatile bool _stopped;

    private readonly ILogger _logger;

    public EventLoop(int index, ILogger logger)
    {
        Index = index;
        _logger = logger;
        Epoll.Add(_epoll, _wakeUp, Epoll.In | Epoll.EdgeTriggered, WakeUp);
        _thread = new Thread(Run) { IsBackground = true, Name = $"Berth relay loop {index}" };
        _thread.Start();
    }

    /// <summary>The loop whose thread this is, or null.</summary>
    public static EventLoop? Current => t_current;

    public int Index { get; }

    /// <summary>The loop's clock (<see cref="Environment.TickCount64"/>), read once per wake-up.</summary>
    public long Now { get; private set; } = Environment.TickCount64;

    /// <summary>Runs <paramref name="work"/> on the loop's thread.</summary>
    public void Post(Action<object?> work, object? state)
    {
        _posted.Enqueue((work, state));
        if (_stopped)
        {
            // The loop's thread has ended (the balancer stops): what is posted runs here, the loop's sockets being
            // no one else's now.
            RunPosted();
            return;
        }

        Epoll.Signal(_wakeUp);
    }

    /// <summary>An await that goes on on the loop's thread.</summary>
    public Task SwitchTo()
    {
        var switched = new TaskCompletionSource();
        Post(static s => ((TaskCompletionSource)s!).SetResult(), switched);
        return switched.Task;
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

    /// <summary>Ends the loop's thread and closes the sockets still registered (idle target connections).</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        Epoll.Signal(_wakeUp);
        _thread.Join();
        _stopped = true;
        RunPosted();

        // Under the posted work's lock: a socket disposed on another thread now closes there, inline.
        lock (_posted)
        {
            foreach (var socket in _sockets.ToArray())
            {
                socket?.Close();
            }
        }

        Epoll.Close(_wakeUp);
        Epoll.Close(_epoll);
    }

    private void Run()
    {
        t_current = this;
        var events = stackalloc byte[MaxEvents * 16];
        var sweep = Now + SweepMs;
        while (!_stopping)
        {
            var n = Epoll.Wait(_epoll, events, MaxEvents, SweepMs);
            Now = Environment.TickCount64;
            if (Now >= sweep)
            {
                sweep = Now + SweepMs;
                Sweep();
            }

            for (var i = 0; i < n; i++)
            {
                var key = Epoll.DataAt(events, i);
                if (key == WakeUp)
                {
                    Epoll.Drain(_wakeUp);
                    RunPosted();
                    continue;
                }

                var slot = (int)(uint)key;
                if (_sockets[slot] is { } socket && socket.Generation == (uint)(key >> 32))
                {
                    try
                    {
                        socket.OnEvents(Epoll.EventsAt(events, i));
                    }
                    catch (Exception ex)
                    {
                        // What a wait's continuation did not catch (an async method catches its own): the loop goes on
                        // for its other sockets.
                        LogFailed(_logger, Index, ex);
                    }
                }
            }
        }
    }

    // Ends the waits whose deadlines passed.
    private void Sweep()
    {
        for (var i = 0; i < _sockets.Count; i++)
        {
            _sockets[i]?.Expire(Now);
        }
    }

    private void RunPosted()
    {
        // One drainer at a time: the loop's thread, or after it ended whoever posts.
        lock (_posted)
        {
            RunPostedLocked();
        }
    }

    private void RunPostedLocked()
    {
        while (_posted.TryDequeue(out var item))
        {
            try
            {
                item.Work(item.State);
            }
            catch (Exception ex)
            {
                LogFailed(_logger, Index, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Relay event loop {Index}: a socket's work failed")]
    private static partial void LogFailed(ILogger logger, int index, Exception exception);
}

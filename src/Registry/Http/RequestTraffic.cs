namespace Berth.Registry.Http;

/// <summary>
/// Whether the registry received a request since background work last looked: the garbage collector paces itself by it
/// (<see cref="Gc.GcPacer"/>), running flat out on an idle registry and yielding to requests on a busy one.
/// </summary>
internal sealed class RequestTraffic
{
    private int _arrived;

    /// <summary>
    /// On every request. A read, and a write only for the first request after a look: requests on every core writing one
    /// counter would move its cache line between cores on each request, while a flag already set is only read.
    /// </summary>
    public void Note()
    {
        if (Volatile.Read(ref _arrived) == 0)
        {
            Volatile.Write(ref _arrived, 1);
        }
    }

    /// <summary>Whether a request arrived since the last call; clears the flag.</summary>
    public bool TakeArrived() => Interlocked.Exchange(ref _arrived, 0) == 1;
}

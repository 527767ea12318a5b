using Berth.Registry.Http;

namespace Berth.Registry.Gc;

/// <summary>
/// Paces one collection by duty cycle, as GitLab's online GC workers run in small batches with pauses: after each step
/// (a batch, a stamp slice), if a request arrived since the last step, the collector pauses in proportion to the step's
/// own time so that it works at most <see cref="GcOptions.BusyShare"/> of the wall time while requests arrive; with none,
/// it goes straight on. So a collection on an idle registry runs flat out, and on a busy one it takes a bounded share
/// of one core and the requests the rest (the collector, the requests and their clients share the machine's cores).
/// Each step is measured on the collector's <see cref="TimeProvider"/>; a pause adds wall time, never CPU work.
/// </summary>
internal sealed class GcPacer(RequestTraffic traffic, TimeProvider time, double busyShare)
{
    /// <summary>The time paused so far in this run, for the log.</summary>
    public TimeSpan Paused { get; private set; }

    /// <summary>A step's start, for <see cref="YieldAsync"/>.</summary>
    public long Start() => time.GetTimestamp();

    /// <summary>
    /// After a step started at <paramref name="started"/>: pauses for (1 - share) / share of the step's time if a request
    /// arrived since the last step. Call it outside the registry's write lock, so that pushes go on during the pause.
    /// </summary>
    public async Task YieldAsync(long started, CancellationToken cancellationToken)
    {
        var worked = time.GetElapsedTime(started);
        if (!traffic.TakeArrived() || busyShare >= 1 || worked <= TimeSpan.Zero)
        {
            return;
        }

        var pause = worked * ((1 - busyShare) / busyShare);
        Paused += pause;
        await Task.Delay(pause, time, cancellationToken);
    }
}

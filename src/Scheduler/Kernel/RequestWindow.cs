namespace Berth.Scheduler.Kernel;

/// <summary>
/// The requests balancer replicas routed to one target group over the last minute (ELB's <c>RequestCount</c>, which
/// Application Auto Scaling reads per minute): the replicas' reports with their arrival times, summed as they come and
/// dropped as they age. Runtime only, under the cluster's lock: after a scheduler restart the metric refills within a
/// minute, as a CloudWatch metric has no datapoint for a minute nobody reported in.
/// </summary>
internal sealed class RequestWindow
{
    /// <summary>The period the sum covers.</summary>
    public static readonly TimeSpan Length = TimeSpan.FromMinutes(1);

    private readonly Queue<(DateTimeOffset At, long Requests)> _reports = new();
    private long _sum;

    /// <summary>Adds a replica's report, received at <paramref name="at"/>.</summary>
    public void Add(DateTimeOffset at, long requests)
    {
        Trim(at);
        _reports.Enqueue((at, requests));
        _sum += requests;
    }

    /// <summary>The requests reported during the minute before <paramref name="now"/>.</summary>
    public long Sum(DateTimeOffset now)
    {
        Trim(now);
        return _sum;
    }

    private void Trim(DateTimeOffset now)
    {
        while (_reports.TryPeek(out var oldest) && oldest.At <= now - Length)
        {
            _reports.Dequeue();
            _sum -= oldest.Requests;
        }
    }
}

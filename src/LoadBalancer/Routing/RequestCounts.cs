using System.Collections.Concurrent;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Requests this replica routed to each target group since its last report: ELB's <c>RequestCount</c> per target group,
/// from which the scheduler computes <c>RequestCountPerTarget</c> for Application Auto Scaling. Counted once per
/// request when its target group is chosen (a GET retried on another target after a refused connection is one
/// request), fixed-response and redirect actions not at all, as ELB counts them against no target group.
/// </summary>
internal sealed class RequestCounts
{
    private readonly ConcurrentDictionary<string, Counter> _groups = new(StringComparer.Ordinal);

    /// <summary>Counts one request to a target group; lock-free (one lookup and one interlocked add).</summary>
    public void Count(string targetGroupArn)
    {
        if (!_groups.TryGetValue(targetGroupArn, out var counter))
        {
            counter = _groups.GetOrAdd(targetGroupArn, static _ => new Counter());
        }

        Interlocked.Increment(ref counter.Value);
    }

    /// <summary>
    /// Takes what was counted since the last call, per group with any request, and starts again from zero. A group
    /// seen once keeps its (small) counter; a replica serves a bounded configuration.
    /// </summary>
    public List<(string TargetGroupArn, long Requests)> Take()
    {
        var taken = new List<(string, long)>();
        foreach (var (arn, counter) in _groups)
        {
            if (Volatile.Read(ref counter.Value) != 0 && Interlocked.Exchange(ref counter.Value, 0) is var requests and > 0)
            {
                taken.Add((arn, requests));
            }
        }

        return taken;
    }

    /// <summary>Gives back what a report that could not be sent had taken, so the next one carries it.</summary>
    public void Return(IEnumerable<(string TargetGroupArn, long Requests)> untold)
    {
        foreach (var (arn, requests) in untold)
        {
            Interlocked.Add(ref _groups.GetOrAdd(arn, static _ => new Counter()).Value, requests);
        }
    }

    private sealed class Counter
    {
        public long Value;
    }
}

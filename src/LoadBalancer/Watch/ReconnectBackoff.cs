namespace Berth.LoadBalancer.Watch;

/// <summary>
/// Jittered exponential backoff from 250 ms up to 30 s ("equal jitter": half the step fixed, half random), so the
/// replicas of every balancer that lost the same scheduler do not come back in the same millisecond, and a balancer
/// catches up within 30 s of the scheduler's return.
/// </summary>
internal sealed class ReconnectBackoff(Random random)
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    private int _attempt;

    public TimeSpan Next()
    {
        var step = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 20)));
        _attempt++;
        return TimeSpan.FromMilliseconds((step / 2) + (random.NextDouble() * step / 2));
    }

    public void Reset() => _attempt = 0;
}

namespace Berth.Core.Resilience;

/// <summary>
/// Jittered exponential backoff from 250 ms up to <see cref="Max"/> ("equal jitter": half the step fixed, half
/// random), so many clients that lost the same server do not come back in the same millisecond.
/// </summary>
public sealed class ReconnectBackoff(Random random, TimeSpan max)
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);

    private int _attempt;

    public TimeSpan Max { get; } = max;

    public TimeSpan Next()
    {
        var step = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 20)));
        _attempt++;
        return TimeSpan.FromMilliseconds((step / 2) + (random.NextDouble() * step / 2));
    }

    public void Reset() => _attempt = 0;
}

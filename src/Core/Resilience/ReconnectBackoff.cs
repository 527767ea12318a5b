namespace Berth.Core.Resilience;

/// <summary>
/// Jittered exponential backoff from 250 ms up to <see cref="Max"/> ("equal jitter": half the step fixed, half
/// random), so many clients that lost the same server do not come back in the same millisecond.
/// </summary>
public sealed class ReconnectBackoff(Random random, TimeSpan max)
{
    /// <summary>The step of the first attempt; each later attempt doubles it up to <see cref="Max"/>.</summary>
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);

    private int _attempt;

    /// <summary>The largest step: after enough failures every delay lies between half of it and all of it.</summary>
    public TimeSpan Max { get; } = max;

    /// <summary>The delay before the next attempt; each call counts as one more failed attempt.</summary>
    /// <returns>A delay between half the current step and the whole step.</returns>
    public TimeSpan Next()
    {
        var step = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 20)));
        _attempt++;
        return TimeSpan.FromMilliseconds((step / 2) + (random.NextDouble() * step / 2));
    }

    /// <summary>Starts over at <see cref="First"/>, after a connection that worked.</summary>
    public void Reset() => _attempt = 0;
}

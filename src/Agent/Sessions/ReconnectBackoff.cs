namespace Berth.Agent.Sessions;

/// <summary>
/// Jittered exponential backoff from 250 ms up to 2 minutes ("equal jitter": half the step fixed, half random),
/// so a thousand agents that lost the same scheduler do not come back in the same millisecond.
/// </summary>
internal sealed class ReconnectBackoff(Random random)
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan Max = TimeSpan.FromMinutes(2);

    private int _attempt;

    public TimeSpan Next()
    {
        var step = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(_attempt, 20)));
        _attempt++;
        return TimeSpan.FromMilliseconds((step / 2) + (random.NextDouble() * step / 2));
    }

    public void Reset() => _attempt = 0;
}

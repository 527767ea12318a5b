using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Infrastructure;

/// <summary>
/// The fake clock, telling the test each time a timer is made on it: a background loop's interval timer exists only
/// once its thread got there, and moving the clock before that would move it past a timer not yet made.
/// </summary>
internal sealed class TimerSignallingTime(FakeTimeProvider inner) : TimeProvider
{
    public Channel<bool> Created { get; } = Channel.CreateUnbounded<bool>();

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = inner.CreateTimer(callback, state, dueTime, period);
        Created.Writer.TryWrite(true);
        return timer;
    }
}

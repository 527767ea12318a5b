using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Berth.Scheduler.Tests.Services;

/// <summary>
/// A <see cref="ServiceTest"/> on a fake clock that starts at <paramref name="start"/>. Simulated agents send no
/// heartbeats on it, so simulated minutes must not close their sessions nor declare their hosts lost: the heartbeat
/// interval and the lost-host grace period are set far beyond what a test moves the clock.
/// </summary>
public abstract class FakeClockServiceTest(ITestOutputHelper output, DateTimeOffset start) : ServiceTest(output)
{
    private protected FakeTimeProvider Clock { get; } = new(start);

    private protected sealed override TimeProvider? Time => Clock;

    private protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings!)
    {
        ["Scheduler:HeartbeatInterval"] = "00:10:00",
        ["Scheduler:LostHostGracePeriod"] = "1.00:00:00",
    };
}

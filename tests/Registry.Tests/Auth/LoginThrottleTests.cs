using System.Net;
using Berth.Registry.Auth;
using Berth.Registry.Auth.Throttling;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Berth.Registry.Tests.Auth;

public sealed class LoginThrottleTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("127.0.0.2");

    [Fact]
    public void RetryAfter_PastTheLimit_RefusesUntilTheWindowEnds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var throttle = new LoginThrottle(Options.Create(new AuthOptions { MaxFailures = 3, FailureWindow = TimeSpan.FromSeconds(60) }), time);

        for (var i = 0; i < 3; i++)
        {
            Assert.Null(throttle.RetryAfter(s_client));
            throttle.RecordFailure(s_client);
        }

        Assert.Equal(TimeSpan.FromSeconds(60), throttle.RetryAfter(s_client));
        Assert.Null(throttle.RetryAfter(IPAddress.Parse("127.0.0.3")));

        time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), throttle.RetryAfter(s_client));

        time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(throttle.RetryAfter(s_client));
    }

    [Fact]
    public void RecordSuccess_ClearsTheCount()
    {
        var throttle = new LoginThrottle(Options.Create(new AuthOptions { MaxFailures = 2 }), TimeProvider.System);
        throttle.RecordFailure(s_client);
        throttle.RecordSuccess(s_client);
        throttle.RecordFailure(s_client);

        Assert.Null(throttle.RetryAfter(s_client));
    }
}

using System.Net;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Routing;

/// <summary>
/// Target stickiness (<c>AWSALB</c>): the balancer no longer loads the Data Protection key ring at startup (to keep
/// its memory down), so the first sticky response must create or read it on demand.
/// </summary>
public sealed class StickinessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LbCookie_KeepsAClientOnItsTarget_AndWithoutItRoundRobinGoesOn()
    {
        var port = TestPorts.Next();
        await using var a = await TargetServer.StartAsync("a");
        await using var b = await TargetServer.StartAsync("b");
        var attributes = new TargetGroupAttributes { Stickiness = new Stickiness { Enabled = true, Type = "lb_cookie", DurationSeconds = 3600 } };
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [a.Port, b.Port], attributes: attributes)]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        using var first = await client.GetAsync("/").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var owner = await first.Content.ReadAsStringAsync();
        var cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"), c => c.StartsWith("AWSALB=", StringComparison.Ordinal));
        var pair = cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];

        for (var i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add("Cookie", pair);
            using var response = await client.SendAsync(request).WithTimeout();
            Assert.Equal(owner, await response.Content.ReadAsStringAsync());
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 4; i++)
        {
            seen.Add(await client.GetStringAsync("/").WithTimeout());
        }

        Assert.Equal(["a", "b"], seen.Order(StringComparer.Ordinal));
    }
}

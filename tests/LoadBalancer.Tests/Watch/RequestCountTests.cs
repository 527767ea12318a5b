using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Watch;

/// <summary>The requests a replica routed to each target group reach the scheduler with its periodic reports, once each.</summary>
public sealed class RequestCountTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RequestsRoutedToAGroup_AreReportedAsCountsSinceTheLastReport_AndFixedResponsesCountForNoGroup()
    {
        var port = TestPorts.Next();
        await using var web = await TargetServer.StartAsync("web");
        await using var api = await TargetServer.StartAsync("api");
        var snapshot = Snapshot(1,
            [Http(port, Forward("web"))],
            [Group("web", [web.Port]), Group("api", [api.Port])],
            [Rule(port, 10, Fixed("503", "down for maintenance"), Path("/fixed"))],
            reportIntervalMs: 100);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("web", await client.GetStringAsync("/").WithTimeout());
        }

        for (var i = 0; i < 2; i++)
        {
            using var fixedResponse = await client.GetAsync("/fixed").WithTimeout();
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, fixedResponse.StatusCode);
        }

        await lab.Scheduler.WaitForAsync(s => Reported(s, "web") == 5, "5 requests to web reported");

        // Counts are since the previous report: three more make eight in all, not five plus eight.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("web", await client.GetStringAsync("/").WithTimeout());
        }

        await lab.Scheduler.WaitForAsync(s => Reported(s, "web") == 8, "8 requests to web reported in all");
        Assert.Equal(0, Reported(lab.Scheduler, "api"));
        Assert.All(lab.Scheduler.Messages(m => m.RequestCounts).SelectMany(r => r.Groups), g => Assert.True(g.Requests > 0));
    }

    private static long Reported(FakeScheduler scheduler, string group) =>
        scheduler.Messages(m => m.RequestCounts).SelectMany(r => r.Groups).Where(g => g.TargetGroupArn == GroupArn(group)).Sum(g => g.Requests);
}

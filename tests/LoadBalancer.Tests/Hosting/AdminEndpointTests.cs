using System.Net;
using System.Text.Json;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Hosting;

public sealed class AdminEndpointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Healthz_AndStatus_AnswerOnTheAdminAddress_AndNotOnListeners()
    {
        var port = TestPorts.Next();
        await using var web = await TargetServer.StartAsync("web");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [web.Port])]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var admin = new HttpClient { BaseAddress = lab.Balancer.AdminUrl };

        using var healthz = await admin.GetAsync("/healthz").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal("text/plain", healthz.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ok\n", await healthz.Content.ReadAsStringAsync());

        using var status = JsonDocument.Parse(await admin.GetStringAsync("/status").WithTimeout());
        Assert.Equal(LoadBalancerArn, status.RootElement.GetProperty("loadBalancerArn").GetString());
        Assert.Equal(1, status.RootElement.GetProperty("version").GetInt64());
        var listener = Assert.Single(status.RootElement.GetProperty("listeners").EnumerateArray());
        Assert.Equal(port, listener.GetProperty("port").GetInt32());
        Assert.Equal("HTTP", listener.GetProperty("protocol").GetString());
        var target = Assert.Single(status.RootElement.GetProperty("targets").EnumerateArray());
        Assert.Equal(GroupArn("web"), target.GetProperty("targetGroupArn").GetString());
        Assert.Equal($"127.0.0.1:{web.Port}", target.GetProperty("target").GetString());

        // On a listener port the same paths are the targets' own.
        using var client = Lab.Client(port);
        Assert.Equal("web", await client.GetStringAsync("/healthz").WithTimeout());
    }
}

using System.Net;
using Berth.LoadBalancer.Tests.Infrastructure;
using Berth.TestSupport;
using Xunit.Abstractions;
using static Berth.LoadBalancer.Tests.Infrastructure.Configs;

namespace Berth.LoadBalancer.Tests.Routing;

public sealed class RoutingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Rules_AreEvaluatedByPriority_AndTheDefaultActionTakesTheRest()
    {
        var port = TestPorts.Next();
        await using var api = await TargetServer.StartAsync("api");
        await using var img = await TargetServer.StartAsync("img");
        await using var web = await TargetServer.StartAsync("web");
        await using var beta = await TargetServer.StartAsync("beta");
        var snapshot = Snapshot(1,
            [Http(port, Forward("web"))],
            [Group("api", [api.Port]), Group("img", [img.Port]), Group("web", [web.Port]), Group("beta", [beta.Port])],
            [
                // Priority 5 beats 10 although both match /api/...: ELB evaluates the lowest number first.
                Rule(port, 10, Forward("api"), Path("/api/*")),
                Rule(port, 5, Forward("beta"), Path("/api/*"), Header("X-Beta", "y*s")),
                Rule(port, 20, Forward("img"), Path("/img/*.png", "/img/*.gif")),
                Rule(port, 30, Fixed("404", "no such host"), Host("*.internal.example")),
                Rule(port, 40, Forward("beta"), Query("version", "2")),
                Rule(port, 50, Fixed("405", "read only"), Method("DELETE")),
            ]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        Assert.Equal("api", await client.GetStringAsync("/api/users").WithTimeout());
        Assert.Equal("beta", await SendAsync(client, HttpMethod.Get, "/api/users", ("X-Beta", "YES")));
        Assert.Equal("api", await SendAsync(client, HttpMethod.Get, "/api/users", ("X-Beta", "no")));
        Assert.Equal("img", await client.GetStringAsync("/img/cat.png").WithTimeout());
        Assert.Equal("web", await client.GetStringAsync("/img/cat.jpg").WithTimeout());
        // Paths are case-sensitive in ELB.
        Assert.Equal("web", await client.GetStringAsync("/API/users").WithTimeout());
        Assert.Equal("beta", await client.GetStringAsync("/?version=2").WithTimeout());
        Assert.Equal("web", await client.GetStringAsync("/?version=3").WithTimeout());

        using var internalHost = new HttpRequestMessage(HttpMethod.Get, "/");
        internalHost.Headers.Host = "db.INTERNAL.example";
        using var hidden = await client.SendAsync(internalHost).WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal("no such host", await hidden.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", hidden.Content.Headers.ContentType?.MediaType);

        using var delete = await client.DeleteAsync("/anything").WithTimeout();
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal("web", await client.GetStringAsync("/anything").WithTimeout());
    }

    [Fact]
    public async Task Redirect_BuildsTheLocationFromTheRequest()
    {
        var port = TestPorts.Next();
        var redirect = new Scheduler.V1.RuleAction
        {
            Redirect = new Scheduler.V1.RedirectActionConfig { Protocol = "HTTPS", Port = "443", Path = "/new/#{path}", StatusCode = "HTTP_301" },
        };
        var snapshot = Snapshot(1, [Http(port, Fixed("200", "ok"))], [], [Rule(port, 1, redirect, Path("/old/*"))]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        using var response = await client.GetAsync("/old/page?x=1").WithTimeout();

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("https://127.0.0.1/new/old/page?x=1", response.Headers.Location?.ToString());
        Assert.Equal("ok", await client.GetStringAsync("/other").WithTimeout());
    }

    [Fact]
    public async Task WeightedForward_SplitsByWeight_AndWeightZeroGetsNothing()
    {
        var port = TestPorts.Next();
        await using var blue = await TargetServer.StartAsync("blue");
        await using var green = await TargetServer.StartAsync("green");
        await using var grey = await TargetServer.StartAsync("grey");
        var snapshot = Snapshot(1,
            [Http(port, Forward(("blue", 3), ("green", 1), ("grey", 0)))],
            [Group("blue", [blue.Port]), Group("green", [green.Port]), Group("grey", [grey.Port])]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        var counts = new Dictionary<string, int> { ["blue"] = 0, ["green"] = 0, ["grey"] = 0 };
        for (var i = 0; i < 400; i++)
        {
            counts[await client.GetStringAsync("/").WithTimeout()]++;
        }

        Assert.Equal(0, counts["grey"]);
        // 3:1 of 400 is 300:100; the bounds are > 6 standard deviations (sd = sqrt(400 * 0.25 * 0.75) = 8.7) wide.
        Assert.InRange(counts["blue"], 245, 355);
        Assert.Equal(400, counts["blue"] + counts["green"]);
    }

    [Fact]
    public async Task RoundRobin_SpreadsOverTheGroupsTargets()
    {
        var port = TestPorts.Next();
        await using var a = await TargetServer.StartAsync("a");
        await using var b = await TargetServer.StartAsync("b");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [a.Port, b.Port])]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        var seen = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            seen.Add(await client.GetStringAsync("/").WithTimeout());
        }

        Assert.Equal(5, seen.Count(s => s == "a"));
        Assert.Equal(5, seen.Count(s => s == "b"));
    }

    [Fact]
    public async Task ForwardedRequests_CarryTheClientsTraceContextUnchanged_AndNoneOfTheBalancersOwn()
    {
        // The balancer starts no trace span per request (hosting diagnostics are off on the hot path), so it neither
        // rewrites a client's traceparent nor invents one.
        var port = TestPorts.Next();
        await using var web = await TargetServer.StartAsync("web");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [web.Port])]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var traced = (await SendAsync(client, HttpMethod.Get, "/headers", ("traceparent", traceparent))).Split('\n');
        var plain = (await client.GetStringAsync("/headers").WithTimeout()).Split('\n');

        Assert.Contains($"traceparent: {traceparent}", traced);
        Assert.DoesNotContain(plain, line => line.StartsWith("traceparent:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("X-Forwarded-For: 127.0.0.1", plain);
    }

    [Fact]
    public async Task ForwardedRequests_CarryElbsForwardedHeaders_ClientAddressAppended_ProtoAndPortReplaced()
    {
        var port = TestPorts.Next();
        await using var web = await TargetServer.StartAsync("web");
        var snapshot = Snapshot(1, [Http(port, Forward("web"))], [Group("web", [web.Port])]);
        await using var lab = await Lab.StartAsync(output, snapshot);
        using var client = Lab.Client(port);

        var relayed = (await SendAsync(client, HttpMethod.Get, "/headers",
            ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443"))).Split('\n');
        var plain = (await client.GetStringAsync("/headers").WithTimeout()).Split('\n');

        // ELB appends the address it saw to the chain the request came with, and says how the client reached it.
        Assert.Contains("X-Forwarded-For: 203.0.113.7, 127.0.0.1", relayed);
        Assert.Contains("X-Forwarded-Proto: http", relayed);
        Assert.Contains($"X-Forwarded-Port: {port}", relayed);
        Assert.Contains("X-Forwarded-For: 127.0.0.1", plain);
        Assert.Contains("X-Forwarded-Proto: http", plain);
        Assert.Contains($"X-Forwarded-Port: {port}", plain);
        // ELB adds no X-Forwarded-Host or X-Forwarded-Prefix (YARP's defaults did).
        Assert.DoesNotContain(plain, line => line.StartsWith("X-Forwarded-Host:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("X-Forwarded-Prefix:", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task<string> SendAsync(HttpClient client, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await client.SendAsync(request).WithTimeout();
        return await response.Content.ReadAsStringAsync();
    }
}

using System.Net;
using Berth.Core.Networking;

namespace Berth.Core.Tests.Networking;

/// <summary>The route set's diffing and the reading of <c>ip -j</c>, shared by the agent (peer routes) and the balancer (task routes).</summary>
public sealed class ProtocolRoutesTests
{
    private static GatewayRoute Route(string subnet, string via) => new(Ipv4Cidr.Parse(subnet), IPAddress.Parse(via));

    [Fact]
    public void Plan_ReplacesTheMissingAndTheMoved_RemovesTheUnwanted_KeepsTheRest()
    {
        var current = new Dictionary<string, string>
        {
            ["10.240.1.0/24"] = "10.0.0.1",
            ["10.240.2.0/24"] = "10.0.0.2",
            ["10.240.4.0/24"] = "10.0.0.4",
            ["10.240.3.0/24"] = "10.0.0.3",
        };

        var plan = ProtocolRoutes.Plan(current, [Route("10.240.1.0/24", "10.0.0.1"), Route("10.240.2.0/24", "10.0.0.22"), Route("10.240.5.0/24", "10.0.0.5")]);

        Assert.Equal(["10.240.2.0/24 via 10.0.0.22", "10.240.5.0/24 via 10.0.0.5"], plan.Replace.Select(r => $"{r.Subnet} via {r.Via}"));
        Assert.Equal(["10.240.3.0/24", "10.240.4.0/24"], plan.Remove);
        Assert.Empty(ProtocolRoutes.Plan(current, [.. current.Select(kv => Route(kv.Key, kv.Value))]).Replace);
        Assert.Equal(4, ProtocolRoutes.Plan(current, []).Remove.Count);
    }

    [Fact]
    public void Parse_ReadsIpJson_WithBareAddressesAsHostRoutes()
    {
        var routes = ProtocolRoutes.Parse("""
            [{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},
             {"dst":"10.240.0.0/24","dev":"berth0","protocol":"kernel","scope":"link","prefsrc":"10.240.0.1","flags":["linkdown"]},
             {"dst":"10.240.7.0/24","gateway":"10.231.5.7","dev":"lab0","protocol":"202","flags":[]},
             {"type":"local","dst":"127.0.0.1","dev":"lo","prefsrc":"127.0.0.1","flags":[],"uid":0,"cache":["local"]}]
            """);

        Assert.Equal(
            [
                new KernelRoute("default", "192.0.2.1", null, "eth0", null),
                new KernelRoute("10.240.0.0/24", null, "kernel", "berth0", null),
                new KernelRoute("10.240.7.0/24", "10.231.5.7", "202", "lab0", null),
                new KernelRoute("127.0.0.1/32", null, null, "lo", "local"),
            ], routes);
        Assert.Empty(ProtocolRoutes.Parse(""));
        Assert.Throws<RouteCommandException>(() => ProtocolRoutes.Parse("not json"));
    }
}

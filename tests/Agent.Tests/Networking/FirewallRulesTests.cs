using System.Net;
using Berth.Agent.Networking;
using Berth.Core.Networking;

namespace Berth.Agent.Tests.Networking;

public sealed class FirewallRulesTests
{
    private static readonly HostNetworkSpec s_network = new(
        Ipv4Cidr.Parse("10.240.1.0/24"),
        Ipv4Cidr.Parse("10.240.0.0/16"),
        [new PeerRoute(Ipv4Cidr.Parse("10.240.2.0/24"), IPAddress.Parse("10.0.0.12"))]);

    [Fact]
    public void GroupRules_AllowExactlyTheirSources_AndEverythingElseToTheTaskIsDropped()
    {
        var groups = new Dictionary<string, SecurityGroupSpec>
        {
            ["sg-web"] = new("sg-web",
                [
                    new IngressRule(RuleProtocol.Tcp, 8080, 8080, null, "sg-client"),
                    new IngressRule(RuleProtocol.Udp, 5000, 5010, Ipv4Cidr.Parse("10.231.0.0/16"), null),
                    new IngressRule(RuleProtocol.Icmp, 0, 0, Ipv4Cidr.Parse("0.0.0.0/0"), null),
                ],
                [IPAddress.Parse("10.240.1.2"), IPAddress.Parse("10.240.2.7")]),
            ["sg-client"] = new("sg-client", [], [IPAddress.Parse("10.240.2.9"), IPAddress.Parse("10.240.1.3")]),
        };
        var tasks = new List<TaskEndpoint>
        {
            new("web-1", IPAddress.Parse("10.240.1.2"), ["sg-web"]),
            new("client-1", IPAddress.Parse("10.240.1.3"), ["sg-client"]),
            new("open-1", IPAddress.Parse("10.240.1.4"), []),
            new("adopted-1", IPAddress.Parse("10.240.1.5"), null),
        };

        var rules = FirewallRules.Build("berth0", s_network, tasks, groups).Split('\n');

        var web = rules.Where(r => r.Contains("-d 10.240.1.2/32", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "-A BERTH-INGRESS -d 10.240.1.2/32 -s 10.240.2.7/32 -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.2/32 -s 10.240.2.9/32 -p tcp -m tcp --dport 8080:8080 -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.2/32 -s 10.240.1.3/32 -p tcp -m tcp --dport 8080:8080 -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.2/32 -s 10.231.0.0/16 -p udp -m udp --dport 5000:5010 -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.2/32 -s 0.0.0.0/0 -p icmp -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.2/32 -m comment --comment \"task web-1\" -j DROP",
        ], web);

        // The client's group has no rules and no mates but itself on this host: nothing reaches it.
        Assert.Equal(
        [
            "-A BERTH-INGRESS -d 10.240.1.3/32 -s 10.240.2.9/32 -j ACCEPT",
            "-A BERTH-INGRESS -d 10.240.1.3/32 -m comment --comment \"task client-1\" -j DROP",
        ], rules.Where(r => r.Contains("-d 10.240.1.3/32", StringComparison.Ordinal)));
        Assert.Contains("-A BERTH-INGRESS -d 10.240.1.4/32 -m comment --comment \"task open-1\" -j ACCEPT", rules);
        Assert.Contains("-A BERTH-INGRESS -d 10.240.1.5/32 -m comment --comment \"task adopted-1\" -j DROP", rules);

        // Order: established first, then ingress filtering, then free egress; the subnet's unknown addresses last.
        Assert.True(Array.IndexOf(rules, "-A BERTH-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT") < Array.IndexOf(rules, "-A BERTH-FORWARD -o berth0 -j BERTH-INGRESS"));
        Assert.Equal("-A BERTH-INGRESS -d 10.240.1.0/24 -j DROP", rules.Last(r => r.StartsWith("-A BERTH-INGRESS", StringComparison.Ordinal)));
    }

    [Fact]
    public void UnknownGroup_GrantsNothing()
    {
        var rules = FirewallRules.Build("berth0", s_network, [new TaskEndpoint("t", IPAddress.Parse("10.240.1.9"), ["sg-missing"])], new Dictionary<string, SecurityGroupSpec>());

        Assert.Equal(["-A BERTH-INGRESS -d 10.240.1.9/32 -m comment --comment \"task t\" -j DROP"], rules.Split('\n').Where(r => r.Contains("10.240.1.9", StringComparison.Ordinal)));
    }

    [Fact]
    public void Nat_KeepsClusterTrafficUnmasqueraded_AndMasqueradesTheRest()
    {
        var nat = FirewallRules.Build("berth0", s_network, [], new Dictionary<string, SecurityGroupSpec>()).Split("*nat\n")[1];

        // The cluster CIDR holds the host's and the peer's subnets: one exemption is enough.
        Assert.Equal(
            ":BERTH-POSTROUTING - [0:0]\n-A BERTH-POSTROUTING -s 10.240.1.0/24 -d 10.240.0.0/16 -j RETURN\n-A BERTH-POSTROUTING -s 10.240.1.0/24 -j MASQUERADE\nCOMMIT\n",
            nat);

        var noCluster = FirewallRules.Build("berth0", s_network with { ClusterCidr = null }, [], new Dictionary<string, SecurityGroupSpec>());
        Assert.Contains("-A BERTH-POSTROUTING -s 10.240.1.0/24 -d 10.240.1.0/24 -j RETURN", noCluster, StringComparison.Ordinal);
        Assert.Contains("-A BERTH-POSTROUTING -s 10.240.1.0/24 -d 10.240.2.0/24 -j RETURN", noCluster, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tcp", 0, 0, "-p tcp -j ACCEPT")]
    [InlineData("tcp", 0, 65535, "-p tcp -j ACCEPT")]
    [InlineData("17", 53, 53, "-p udp -m udp --dport 53:53 -j ACCEPT")]
    [InlineData("-1", 0, 0, "-s 10.0.0.0/8 -j ACCEPT")]
    public void PortRanges(string protocolName, int from, int to, string expectedTail)
    {
        var protocol = FirewallRules.ParseProtocol(protocolName)!.Value;
        var groups = new Dictionary<string, SecurityGroupSpec> { ["sg"] = new("sg", [new IngressRule(protocol, from, to, Ipv4Cidr.Parse("10.0.0.0/8"), null)], []) };

        var rules = FirewallRules.Build("berth0", s_network, [new TaskEndpoint("t", IPAddress.Parse("10.240.1.2"), ["sg"])], groups);

        Assert.Contains(rules.Split('\n'), r => r.StartsWith("-A BERTH-INGRESS -d 10.240.1.2/32 -s 10.0.0.0/8", StringComparison.Ordinal) && r.EndsWith(expectedTail, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.240.3.0/24", true, "10.240.3.0/24", "10.240.3.1")]
    [InlineData("10.240.3.77/24", true, "10.240.3.0/24", "10.240.3.1")]
    [InlineData("10.240.0.0/16", true, "10.240.0.0/16", "10.240.0.1")]
    [InlineData("10.240.3.0", true, "10.240.3.0/32", "10.240.3.1")]
    [InlineData("10.240.3.0/33", false, null, null)]
    [InlineData("10/8", false, null, null)]
    [InlineData("fe80::/64", false, null, null)]
    [InlineData("", false, null, null)]
    // As the agent reads them (rules and routes name single hosts without a prefix).
    public void Cidrs_ParseNormalised(string text, bool valid, string? normalised, string? gateway)
    {
        Assert.Equal(valid, Ipv4Cidr.TryParse(text, out var cidr, bareAddressIsHost: true));
        Assert.Equal(normalised, cidr?.ToString());
        Assert.Equal(gateway, cidr?.Gateway.ToString());
    }

    [Fact]
    public void Cidrs_ContainAndOverlap()
    {
        var cluster = Ipv4Cidr.Parse("10.240.0.0/16");
        Assert.True(cluster.Contains(Ipv4Cidr.Parse("10.240.9.0/24")));
        Assert.False(Ipv4Cidr.Parse("10.240.9.0/24").Contains(cluster));
        Assert.True(Ipv4Cidr.Parse("10.240.9.0/24").Overlaps(cluster));
        Assert.False(Ipv4Cidr.Parse("10.240.9.0/24").Overlaps(Ipv4Cidr.Parse("10.240.10.0/24")));
        Assert.True(cluster.Contains(IPAddress.Parse("10.240.200.1")));
        Assert.False(cluster.Contains(IPAddress.Parse("10.241.0.1")));
    }
}

using Berth.Scheduler.V1;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// awsvpc on lab hosts: real agent processes in the hosts' namespaces, real engines, CNI, routes, iptables and the
/// service discovery DNS server, driven through the agent protocol by a <see cref="ScriptedScheduler"/>.
/// </summary>
[Collection(EngineCollection.Name)]
[Trait("Category", "System")]
public sealed class AwsvpcLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TasksOnTwoHosts_TalkByAddress_AndByNameThroughTheHostsDnsServer_WhichForwardsOtherNames()
    {
        await using var lab = await AwsvpcLab.StartAsync(2, output.WriteLine);
        var (h1, h2) = (lab.Hosts.Hosts[0], lab.Hosts.Hosts[1]);
        var server = AwsvpcLab.AwsvpcTask("server", AwsvpcLab.Server("hello-from-server", 8080));
        var client = AwsvpcLab.AwsvpcTask("client", AwsvpcLab.Idle);
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [server]));
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h2), lab.Desired(h2, [client]));

        var serverReport = await lab.WaitRunningAsync(h1, "server");
        var clientReport = await lab.WaitRunningAsync(h2, "client");

        // Each task has an address of its own host's subnet; nothing is published on the hosts.
        var serverAddress = serverReport.NetworkAttachment.Ipv4Address;
        Assert.StartsWith("10.240.1.", serverAddress, StringComparison.Ordinal);
        Assert.StartsWith("10.240.2.", clientReport.NetworkAttachment.Ipv4Address, StringComparison.Ordinal);
        Assert.Equal(("10.240.1.0/24", "10.240.1.1"), (serverReport.NetworkAttachment.Subnet, serverReport.NetworkAttachment.Gateway));
        Assert.Empty(serverReport.Containers.Single().NetworkBindings);
        Assert.Equal("main", Assert.Single(serverReport.Containers).Name);
        var ports = (await lab.Hosts.DockerAsync(h1, "ps", "--format", "{{.Ports}}")).EnsureSuccess("docker ps").StandardOutput;
        Assert.DoesNotContain("->", ports, StringComparison.Ordinal);

        // By address, across hosts: routed through h2's peer route to h1, no NAT inside the cluster.
        var reply = "";
        await TaskTimeouts.WaitUntilAsync(async () => (reply = await lab.ConnectAsync(h2, clientReport, serverAddress, 8080)).Length > 0, TimeSpan.FromSeconds(30), "the client to reach the server by address");
        Assert.Equal("hello-from-server", reply);

        // By name: the scheduler's records reach the DNS servers; the task's resolver is its host's bridge address.
        var discovery = new ServiceDiscovery { Namespaces = { "apps" }, Records = { new DnsRecordSet { Name = "web.apps", Type = DnsRecordType.A, TtlSeconds = 2, Addresses = { serverAddress } } } };
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h1), lab.Desired(h1, [server], discovery: discovery));
        lab.Scheduler.SetDesired(AwsvpcLab.InstanceId(h2), lab.Desired(h2, [client], discovery: discovery));
        Assert.Equal("nameserver 10.240.2.1", (await lab.ExecAsync(h2, clientReport, "grep nameserver /etc/resolv.conf")).StandardOutput.Trim());
        var lookup = new ProcessResult(1, "", "");
        await TaskTimeouts.WaitUntilAsync(async () => (lookup = await lab.ExecAsync(h2, clientReport, "nslookup web.apps")).StandardOutput.Contains(serverAddress, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "web.apps to resolve in the client");
        Assert.Equal("hello-from-server", await lab.ConnectAsync(h2, clientReport, "web.apps", 8080));

        // Inside the namespace, an unknown name is NXDOMAIN; outside it, names go to the host's resolver.
        Assert.Contains("NXDOMAIN", (await lab.ExecAsync(h2, clientReport, "nslookup nothing.apps 2>&1")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(UpstreamDns.Answer, (await lab.ExecAsync(h2, clientReport, $"nslookup {UpstreamDns.Name}")).StandardOutput, StringComparison.Ordinal);
        Assert.Contains(UpstreamDns.Name, lab.Upstream.Asked);
        Assert.DoesNotContain("web.apps", lab.Upstream.Asked);
    }
}

using System.Net;
using Berth.Agent.Configuration;
using Berth.Agent.Networking;
using Berth.Core.Networking;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tests.Networking;

public sealed class HostNetworkTests
{
    private readonly RecordingHostCommands _commands = new();

    [Fact]
    public async Task Routes_AddTheMissingAndChanged_RemoveTheStale_KeepTheRest()
    {
        // Three of ours exist: one still right, one via a host that moved, one for a peer that left.
        _commands.Answers.Add(("ip -j -4 route show proto 201", new CommandResult(0, """
            [{"dst":"10.240.2.0/24","gateway":"10.0.0.12","dev":"eth0","flags":[]},
             {"dst":"10.240.3.0/24","gateway":"10.0.0.99","dev":"eth0","flags":[]},
             {"dst":"10.240.4.0/24","gateway":"10.0.0.14","dev":"eth0","flags":[]}]
            """, "")));
        var host = new HostNetwork(_commands, Options(), NullLogger<HostNetwork>.Instance);

        await host.SyncRoutesAsync(
        [
            new PeerRoute(Ipv4Cidr.Parse("10.240.2.0/24"), IPAddress.Parse("10.0.0.12")),
            new PeerRoute(Ipv4Cidr.Parse("10.240.3.0/24"), IPAddress.Parse("10.0.0.13")),
            new PeerRoute(Ipv4Cidr.Parse("10.240.5.0/24"), IPAddress.Parse("10.0.0.15")),
        ], CancellationToken.None);

        Assert.Equal(
        [
            "ip -j -4 route show proto 201",
            "ip route replace 10.240.3.0/24 via 10.0.0.13 proto 201",
            "ip route replace 10.240.5.0/24 via 10.0.0.15 proto 201",
            "ip route del 10.240.4.0/24 proto 201",
        ], _commands.CommandLines);
    }

    [Fact]
    public async Task Bridge_IsCreatedWithTheGateway_WhenMissing_WithForwardingOn()
    {
        _commands.OnceAnswers.Add(("ip -j -4 addr show dev berth0", new CommandResult(1, "", "Device \"berth0\" does not exist.")));
        _commands.Answers.Add(("ip -j -4 addr show dev berth0", new CommandResult(0, """[{"ifname":"berth0","addr_info":[]}]""", "")));
        var host = new HostNetwork(_commands, Options(), NullLogger<HostNetwork>.Instance);

        await host.EnsureBridgeAsync(Ipv4Cidr.Parse("10.240.1.0/24"), tasksAttached: false, CancellationToken.None);

        Assert.Equal(
        [
            "sysctl -q -w net.ipv4.ip_forward=1",
            "sysctl -q -w net.bridge.bridge-nf-call-iptables=1",
            "ip -j -4 addr show dev berth0",
            "ip link add name berth0 type bridge",
            "ip -j -4 addr show dev berth0",
            "ip addr add 10.240.1.1/24 dev berth0",
            "ip link set dev berth0 up",
        ], _commands.CommandLines);
    }

    [Fact]
    public async Task Bridge_WithAnotherSubnet_IsRefusedWhileTasksUseIt_AndReplacedOtherwise()
    {
        var show = new CommandResult(0, """[{"ifname":"berth0","addr_info":[{"family":"inet","local":"10.240.9.1","prefixlen":24}]}]""", "");
        _commands.Answers.Add(("ip -j -4 addr show dev berth0", show));
        var host = new HostNetwork(_commands, Options(), NullLogger<HostNetwork>.Instance);

        var refused = await Assert.ThrowsAsync<NetworkSetupException>(() => host.EnsureBridgeAsync(Ipv4Cidr.Parse("10.240.1.0/24"), tasksAttached: true, CancellationToken.None));
        Assert.Contains("10.240.9.1/24", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_commands.CommandLines, c => c.StartsWith("ip addr", StringComparison.Ordinal));

        await host.EnsureBridgeAsync(Ipv4Cidr.Parse("10.240.1.0/24"), tasksAttached: false, CancellationToken.None);
        Assert.Contains("ip addr del 10.240.9.1/24 dev berth0", _commands.CommandLines);
        Assert.Contains("ip addr add 10.240.1.1/24 dev berth0", _commands.CommandLines);
        Assert.Contains("ip link set dev berth0 up", _commands.CommandLines);
    }

    [Fact]
    public async Task Cni_AddParsesTheResult_AndPassesTheCniEnvironment()
    {
        var state = Directory.CreateTempSubdirectory("berth-cni-");
        var plugins = Directory.CreateTempSubdirectory("berth-cni-bin-");
        try
        {
            File.WriteAllText(Path.Combine(plugins.FullName, "bridge"), string.Empty);
            var options = Options(state.FullName, plugins.FullName);
            _commands.Answers.Add((Path.Combine(plugins.FullName, "bridge"), new CommandResult(0, """
                {"cniVersion":"1.0.0","interfaces":[{"name":"berth0","mac":"be:70:5d:d3:87:5d"},{"name":"veth1906ac6f","mac":"12:9d:c0:ce:af:65"},
                 {"name":"eth0","mac":"62:d1:90:66:87:45","sandbox":"/proc/860/ns/net"}],
                 "ips":[{"interface":2,"address":"10.240.1.2/24","gateway":"10.240.1.1"}],"dns":{}}
                """, "")));
            var cni = new CniBridge(_commands, options, AgentDataDirectory.Open(state.FullName));

            var attachment = await cni.AddAsync("sandbox-1", "/proc/860/ns/net", Ipv4Cidr.Parse("10.240.1.0/24"), CancellationToken.None);

            Assert.Equal(new NetworkAttachment(IPAddress.Parse("10.240.1.2"), Ipv4Cidr.Parse("10.240.1.0/24"), IPAddress.Parse("10.240.1.1"), "62:d1:90:66:87:45"), attachment);
            var call = Assert.Single(_commands.Calls);
            Assert.Equal("ADD", call.Environment!["CNI_COMMAND"]);
            Assert.Equal("sandbox-1", call.Environment["CNI_CONTAINERID"]);
            Assert.Equal("/proc/860/ns/net", call.Environment["CNI_NETNS"]);
            Assert.Equal("eth0", call.Environment["CNI_IFNAME"]);
            Assert.Equal(plugins.FullName, call.Environment["CNI_PATH"]);
            Assert.Contains("\"type\":\"host-local\"", call.Input, StringComparison.Ordinal);
            Assert.Contains("\"subnet\":\"10.240.1.0/24\"", call.Input, StringComparison.Ordinal);
            Assert.Contains("\"ipMasq\":false", call.Input, StringComparison.Ordinal);
            Assert.Contains("\"isGateway\":true", call.Input, StringComparison.Ordinal);
            Assert.Contains($"\"dataDir\":\"{Path.Combine(state.FullName, "cni", "ipam")}\"", call.Input, StringComparison.Ordinal);
        }
        finally
        {
            state.Delete(recursive: true);
            plugins.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Cni_ErrorsComeOutInTheirOwnWords()
    {
        var plugins = Directory.CreateTempSubdirectory("berth-cni-bin-");
        try
        {
            File.WriteAllText(Path.Combine(plugins.FullName, "bridge"), string.Empty);
            _commands.Answers.Add((Path.Combine(plugins.FullName, "bridge"), new CommandResult(1, """{"code":999,"msg":"failed to allocate for range 0","details":"no IP addresses available in range set: 10.240.1.1-10.240.1.6"}""", "")));
            var cni = new CniBridge(_commands, Options(plugins: plugins.FullName), AgentDataDirectory.Open(plugins.FullName));

            var ex = await Assert.ThrowsAsync<NetworkSetupException>(() => cni.AddAsync("s", "/proc/1/ns/net", Ipv4Cidr.Parse("10.240.1.0/29"), CancellationToken.None));

            Assert.Equal("CNI ADD failed: failed to allocate for range 0: no IP addresses available in range set: 10.240.1.1-10.240.1.6", ex.Message);
        }
        finally
        {
            plugins.Delete(recursive: true);
        }
    }

    [Fact]
    public void Cni_AllocationsAreReadBackFromHostLocalsStore()
    {
        var state = Directory.CreateTempSubdirectory("berth-cni-");
        try
        {
            var store = Directory.CreateDirectory(Path.Combine(state.FullName, "cni", "ipam", CniBridge.NetworkName));
            File.WriteAllText(Path.Combine(store.FullName, "10.240.1.2"), "sandbox-a\r\neth0");
            File.WriteAllText(Path.Combine(store.FullName, "10.240.1.3"), "sandbox-b");
            File.WriteAllText(Path.Combine(store.FullName, "last_reserved_ip.0"), "10.240.1.3");
            File.WriteAllText(Path.Combine(store.FullName, "lock"), string.Empty);

            var allocations = new CniBridge(_commands, Options(state.FullName), AgentDataDirectory.Open(state.FullName)).ReadAllocations();

            Assert.Equal(2, allocations.Count);
            Assert.Equal(IPAddress.Parse("10.240.1.2"), allocations["sandbox-a"]);
            Assert.Equal(IPAddress.Parse("10.240.1.3"), allocations["sandbox-b"]);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    private static IOptions<AgentOptions> Options(string? state = null, string? plugins = null) =>
        Microsoft.Extensions.Options.Options.Create(new AgentOptions
        {
            DataDirectory = state ?? "/nonexistent",
            Awsvpc = new AwsvpcOptions { CniPluginDirectory = plugins ?? "/usr/lib/cni" },
        });
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Agent.Configuration;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// The host side of awsvpc, with <c>ip</c> (iproute2): the task bridge with the gateway address, IPv4 forwarding,
/// bridge netfilter (so that traffic between two tasks of one host passes the firewall too) and the routes to the
/// peers' task subnets. Routes the agent makes carry their own protocol number (<see cref="RouteProtocol"/>), so it
/// can find and remove its stale ones without touching anybody else's (<see cref="ProtocolRoutes"/>, shared with the
/// balancer, whose routes to task subnets are protocol 202).
/// </summary>
internal sealed partial class HostNetwork(IHostCommands commands, IOptions<AgentOptions> options, ILogger<HostNetwork> logger)
{
    /// <summary>The <c>proto</c> of Berth's peer routes (unassigned in /etc/iproute2/rt_protos).</summary>
    public const int RouteProtocol = 201;

    private readonly ProtocolRoutes _routes = new(commands, RouteProtocol);

    private string Bridge => options.Value.Awsvpc.BridgeName;

    /// <summary>
    /// Makes the bridge exist, be up, and carry the subnet's gateway address. Another address of ours on it (the
    /// subnet changed) is replaced only while no task uses the bridge: the running tasks keep the old one.
    /// </summary>
    public async Task EnsureBridgeAsync(Ipv4Cidr subnet, bool tasksAttached, CancellationToken cancellationToken)
    {
        await EnsureSysctlsAsync(cancellationToken);
        var show = await commands.RunAsync("ip", ["-j", "-4", "addr", "show", "dev", Bridge], cancellationToken: cancellationToken);
        if (!show.Succeeded)
        {
            await RunAsync(["link", "add", "name", Bridge, "type", "bridge"], cancellationToken);
            show = await RunAsync(["-j", "-4", "addr", "show", "dev", Bridge], cancellationToken);
        }

        var addresses = ParseAddresses(show.StandardOutput);
        var wanted = (subnet.Gateway.ToString(), subnet.PrefixLength);
        var stale = addresses.Where(a => a != wanted).ToList();
        if (stale.Count > 0 && tasksAttached)
        {
            throw new NetworkSetupException($"the task bridge {Bridge} has {string.Join(", ", stale.Select(a => $"{a.Address}/{a.Prefix}"))}, not {subnet.GatewayWithPrefix}: the task subnet changes once the tasks on it are gone");
        }

        foreach (var (address, prefix) in stale)
        {
            await RunAsync(["addr", "del", $"{address}/{prefix.ToString(CultureInfo.InvariantCulture)}", "dev", Bridge], cancellationToken);
        }

        if (!addresses.Contains(wanted))
        {
            await RunAsync(["addr", "add", subnet.GatewayWithPrefix, "dev", Bridge], cancellationToken);
            LogBridgeAddress(logger, Bridge, subnet.GatewayWithPrefix);
        }

        await RunAsync(["link", "set", "dev", Bridge, "up"], cancellationToken);
    }

    /// <summary>Whether the bridge exists and carries <paramref name="subnet"/>'s gateway (for the DNS server to bind).</summary>
    public async Task<bool> BridgeReadyAsync(Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        var show = await commands.RunAsync("ip", ["-j", "-4", "addr", "show", "dev", Bridge], cancellationToken: cancellationToken);
        return show.Succeeded && ParseAddresses(show.StandardOutput).Contains((subnet.Gateway.ToString(), subnet.PrefixLength));
    }

    /// <summary>Makes the routes of protocol <see cref="RouteProtocol"/> exactly <paramref name="peers"/>.</summary>
    public async Task SyncRoutesAsync(IReadOnlyList<PeerRoute> peers, CancellationToken cancellationToken)
    {
        List<KernelRoute> existing;
        try
        {
            existing = await _routes.ListAsync(all: false, cancellationToken);
        }
        catch (RouteCommandException ex)
        {
            throw new NetworkSetupException(ex.Message);
        }

        var plan = ProtocolRoutes.Plan(ProtocolRoutes.ByDestination(existing), [.. peers.Select(p => new GatewayRoute(p.Subnet, p.Via, p.InstanceId))]);
        foreach (var peer in plan.Replace)
        {
            var result = await _routes.ReplaceAsync(peer, cancellationToken);
            var subnet = peer.Subnet.ToString();
            if (result.Succeeded)
            {
                LogRouteAdded(logger, subnet, peer.Via, peer.Host ?? string.Empty);
            }
            else
            {
                // One unreachable peer (not on our segment) must not keep the others' routes out.
                LogRouteFailed(logger, subnet, peer.Via, result.Message);
            }
        }

        foreach (var destination in plan.Remove)
        {
            await _routes.DeleteAsync(destination, cancellationToken);
            LogRouteRemoved(logger, destination);
        }
    }

    /// <summary>
    /// Forwarding on (tasks' traffic is routed), and bridged traffic through iptables, so that a security group also
    /// holds between two tasks of one host. Both are per network namespace on current kernels.
    /// </summary>
    private async Task EnsureSysctlsAsync(CancellationToken cancellationToken)
    {
        var forwarding = await commands.RunAsync("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"], cancellationToken: cancellationToken);
        if (!forwarding.Succeeded)
        {
            throw new NetworkSetupException($"cannot turn on IPv4 forwarding: {forwarding.Message}");
        }

        var bridged = await commands.RunAsync("sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1"], cancellationToken: cancellationToken);
        if (!bridged.Succeeded)
        {
            LogNoBridgeNetfilter(logger, bridged.Message);
        }
    }

    private async Task<CommandResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await commands.RunAsync("ip", arguments, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new NetworkSetupException($"ip {string.Join(' ', arguments)} failed: {result.Message}");
        }

        return result;
    }

    internal static HashSet<(string Address, int Prefix)> ParseAddresses(string json)
    {
        var links = Deserialize(json, IpJsonContext.Default.ListIpLink) ?? [];
        return links.SelectMany(l => l.AddrInfo ?? [])
            .Where(a => a.Family == "inet" && a.Local is not null)
            .Select(a => (a.Local!, a.Prefixlen))
            .ToHashSet();
    }

    private static T? Deserialize<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (JsonException ex)
        {
            throw new NetworkSetupException($"unexpected output of ip -j: {ex.Message}");
        }
    }
}

internal sealed class IpLink
{
    [JsonPropertyName("ifname")]
    public string? Name { get; set; }

    [JsonPropertyName("addr_info")]
    public List<IpAddressInfo>? AddrInfo { get; set; }
}

internal sealed class IpAddressInfo
{
    public string? Family { get; set; }
    public string? Local { get; set; }
    public int Prefixlen { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<IpLink>))]
internal sealed partial class IpJsonContext : JsonSerializerContext;

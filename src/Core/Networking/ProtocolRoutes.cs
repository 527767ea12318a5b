using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Core.Networking;

/// <summary>A route to a subnet through a gateway (host-gateway routing: the gateway is a host that holds the subnet).</summary>
/// <param name="Subnet">The destination.</param>
/// <param name="Via">The gateway, on a network this machine is directly connected to.</param>
/// <param name="Host">Who the gateway is (a container instance id); informative, for logs.</param>
public sealed record GatewayRoute(Ipv4Cidr Subnet, IPAddress Via, string? Host = null);

/// <summary>A route as <c>ip -j -4 route</c> lists it.</summary>
/// <param name="Destination">The destination as a CIDR (a bare address read as a /32), or <c>default</c>.</param>
/// <param name="Gateway">The gateway; null for a route on a directly connected network.</param>
/// <param name="Protocol">Who made it (<c>kernel</c>, <c>boot</c>, <c>static</c>, or a number such as <c>201</c>); null when ip leaves it out.</param>
/// <param name="Device">The interface.</param>
/// <param name="Type">The route type when not unicast (<c>local</c> for an address of this machine).</param>
public sealed record KernelRoute(string Destination, string? Gateway, string? Protocol, string? Device, string? Type);

/// <summary>What makes the routes of one protocol a wanted set: routes to add or change, destinations to remove.</summary>
public sealed record RoutePlan(IReadOnlyList<GatewayRoute> Replace, IReadOnlyList<string> Remove);

/// <summary>A tool of <see cref="ProtocolRoutes"/> failed or answered what cannot be read.</summary>
public sealed class RouteCommandException(string message) : Exception(message);

/// <summary>
/// The routes one owner keeps in the main table of its network namespace, with <c>ip</c> (iproute2), told apart from
/// everybody else's by their protocol number (<c>ip route ... proto N</c>): the agent's routes to its peers' task subnets
/// (201) and a balancer's routes to the task subnets of its cluster (202). The owner finds its own stale routes by that
/// number and removes them without touching anybody else's.
/// </summary>
public sealed class ProtocolRoutes(IHostCommands commands, int protocol)
{
    private string Proto => protocol.ToString(CultureInfo.InvariantCulture);

    /// <summary>The routes of this protocol (<paramref name="all"/>: every IPv4 route of the main table).</summary>
    public async Task<List<KernelRoute>> ListAsync(bool all, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> arguments = all ? ["-j", "-4", "route", "show"] : ["-j", "-4", "route", "show", "proto", Proto];
        var result = await commands.RunAsync("ip", arguments, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new RouteCommandException($"ip {string.Join(' ', arguments)} failed: {result.Message}");
        }

        return Parse(result.StandardOutput);
    }

    /// <summary>How the kernel would send a packet to <paramref name="address"/> now (<c>ip route get</c>); null when it has no route.</summary>
    public async Task<KernelRoute?> LookupAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        var result = await commands.RunAsync("ip", ["-j", "-4", "route", "get", address.ToString()], cancellationToken: cancellationToken);
        return result.Succeeded ? Parse(result.StandardOutput).FirstOrDefault() : null;
    }

    /// <summary>Adds the route, or changes the gateway of an existing route to its subnet, as this protocol's.</summary>
    public Task<CommandResult> ReplaceAsync(GatewayRoute route, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(route);
        return commands.RunAsync("ip", ["route", "replace", route.Subnet.ToString(), "via", route.Via.ToString(), "proto", Proto], cancellationToken: cancellationToken);
    }

    /// <summary>Removes this protocol's route to <paramref name="destination"/> (a CIDR).</summary>
    public Task<CommandResult> DeleteAsync(string destination, CancellationToken cancellationToken) =>
        commands.RunAsync("ip", ["route", "del", destination, "proto", Proto], cancellationToken: cancellationToken);

    /// <summary>
    /// The difference between the routes held (<paramref name="current"/>: destination to gateway) and <paramref name="wanted"/>:
    /// each wanted route that is missing or has another gateway is replaced, each held destination no longer wanted removed.
    /// </summary>
    public static RoutePlan Plan(IReadOnlyDictionary<string, string> current, IReadOnlyList<GatewayRoute> wanted)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(wanted);
        var replace = wanted.Where(r => !current.TryGetValue(r.Subnet.ToString(), out var via) || via != r.Via.ToString()).ToList();
        var keep = wanted.Select(r => r.Subnet.ToString()).ToHashSet(StringComparer.Ordinal);
        var remove = current.Keys.Where(d => !keep.Contains(d)).Order(StringComparer.Ordinal).ToList();
        return new RoutePlan(replace, remove);
    }

    /// <summary>Destination to gateway of <paramref name="routes"/> (a route without a gateway maps to the empty string).</summary>
    public static Dictionary<string, string> ByDestination(IEnumerable<KernelRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            result[route.Destination] = route.Gateway ?? string.Empty;
        }

        return result;
    }

    /// <summary>Reads <c>ip -j</c> route output; a /32 (which ip writes without its prefix) comes back as <c>a.b.c.d/32</c>.</summary>
    public static List<KernelRoute> Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        List<IpRouteJson>? routes;
        try
        {
            routes = JsonSerializer.Deserialize(json, IpRouteJsonContext.Default.ListIpRouteJson);
        }
        catch (JsonException ex)
        {
            throw new RouteCommandException($"unexpected output of ip -j: {ex.Message}");
        }

        return [.. (routes ?? []).Where(r => r.Dst is not null).Select(r => new KernelRoute(
            Ipv4Cidr.TryParse(r.Dst, out var cidr, bareAddressIsHost: true) ? cidr.Value.ToString() : r.Dst!,
            r.Gateway, r.Protocol, r.Dev, r.Type))];
    }
}

internal sealed class IpRouteJson
{
    public string? Dst { get; set; }
    public string? Gateway { get; set; }
    public string? Dev { get; set; }
    public string? Protocol { get; set; }
    public string? Type { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<IpRouteJson>))]
internal sealed partial class IpRouteJsonContext : JsonSerializerContext;

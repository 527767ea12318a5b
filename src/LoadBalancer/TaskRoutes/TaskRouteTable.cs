using System.Net;
using Berth.Core.Networking;
using Berth.LoadBalancer.State;

namespace Berth.LoadBalancer.TaskRoutes;

/// <summary>
/// The balancer's routes to task subnets in the kernel's main table, made with the agent's route code
/// (<see cref="ProtocolRoutes"/>, protocol <see cref="RouteProtocol"/>). It adds a wanted route only where nobody else
/// routes that subnet (a cluster member's agent, the operator, another balancer) and where its gateway is on a directly
/// connected network; it removes only routes it added itself, as recorded in the data directory's <c>task-routes</c>
/// (so two balancers of different clusters in one namespace, or one restarted, never remove each other's).
/// Used by one loop at a time.
/// </summary>
internal sealed partial class TaskRouteTable
{
    /// <summary>The <c>proto</c> of balancers' task routes (the agent's peer routes are 201).</summary>
    public const int RouteProtocol = 202;

    private static readonly string s_protocol = RouteProtocol.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private readonly ProtocolRoutes _routes;
    private readonly string _recordFile;
    private readonly ILogger _logger;

    // What this balancer added (subnet -> via), as recorded; and the last reason each wanted subnet was skipped, so a
    // skip is logged when it starts or its reason changes, not at every resync.
    private readonly Dictionary<string, string> _added;
    private readonly Dictionary<string, string> _skipped = new(StringComparer.Ordinal);

    public TaskRouteTable(IHostCommands commands, DataDirectory directory, ILogger<TaskRouteTable> logger)
    {
        _routes = new ProtocolRoutes(commands, RouteProtocol);
        _recordFile = directory.TaskRoutesFile;
        _logger = logger;
        _added = Load(_recordFile);
    }

    /// <summary>The routes this balancer added and still holds (subnet -> via).</summary>
    public IReadOnlyDictionary<string, string> Added => _added;

    /// <summary>
    /// Makes the routes this balancer holds <paramref name="wanted"/> as far as it may: adds or changes what is missing,
    /// removes what it added that is no longer wanted. Throws <see cref="RouteCommandException"/> when the table cannot be read.
    /// </summary>
    public async Task SyncAsync(IReadOnlyList<GatewayRoute> wanted, CancellationToken cancellationToken)
    {
        if (wanted.Count == 0 && _added.Count == 0)
        {
            return;
        }

        var table = await _routes.ListAsync(all: true, cancellationToken);
        var before = new Dictionary<string, string>(_added, StringComparer.Ordinal);

        // Ours: a route of our protocol to a subnet we recorded. One replaced by someone else (an agent's `ip route replace`
        // takes the same destination), or deleted, is no longer ours to keep or remove.
        var ours = new Dictionary<string, string>(StringComparer.Ordinal);
        var others = new Dictionary<string, KernelRoute>(StringComparer.Ordinal);
        foreach (var route in table)
        {
            if (route.Protocol == s_protocol && _added.ContainsKey(route.Destination))
            {
                ours[route.Destination] = route.Gateway ?? string.Empty;
            }
            else
            {
                others.TryAdd(route.Destination, route);
            }
        }

        foreach (var lost in _added.Keys.Where(d => !ours.ContainsKey(d)).ToList())
        {
            _added.Remove(lost);
            LogRouteLost(_logger, lost);
        }

        var plan = ProtocolRoutes.Plan(ours, wanted);
        foreach (var route in plan.Replace)
        {
            var subnet = route.Subnet.ToString();
            if (!ours.ContainsKey(subnet) && others.TryGetValue(subnet, out var other))
            {
                Skip(subnet, route, $"the subnet is already routed ({Describe(other)}); left as it is");
                continue;
            }

            if (await ViaProblemAsync(route.Via, cancellationToken) is { } problem)
            {
                Skip(subnet, route, problem);
                continue;
            }

            var result = await _routes.ReplaceAsync(route, cancellationToken);
            if (result.Succeeded)
            {
                _added[subnet] = route.Via.ToString();
                _skipped.Remove(subnet);
                LogRouteAdded(_logger, subnet, route.Via, route.Host ?? string.Empty);
            }
            else
            {
                Skip(subnet, route, $"ip route replace failed: {result.Message}");
            }
        }

        foreach (var subnet in plan.Remove)
        {
            var result = await _routes.DeleteAsync(subnet, cancellationToken);
            _added.Remove(subnet);
            if (result.Succeeded)
            {
                LogRouteRemoved(_logger, subnet);
            }
            else
            {
                LogRemoveFailed(_logger, subnet, result.Message);
            }
        }

        var wantedSubnets = wanted.Select(r => r.Subnet.ToString()).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _skipped.Keys.Where(s => !wantedSubnets.Contains(s)).ToList())
        {
            _skipped.Remove(gone);
        }

        if (before.Count != _added.Count || before.Any(kv => !_added.TryGetValue(kv.Key, out var via) || via != kv.Value))
        {
            Save();
        }
    }

    /// <summary>
    /// Why a route through <paramref name="via"/> cannot be host-gateway routing from here, or null when it can: the kernel
    /// must reach the address directly (no gateway of its own), and it must not be this machine's own.
    /// </summary>
    private async Task<string?> ViaProblemAsync(IPAddress via, CancellationToken cancellationToken)
    {
        var path = await _routes.LookupAsync(via, cancellationToken);
        if (path is null)
        {
            return $"{via} is not reachable from here (no route); multi-segment installations need routes on their routers or an overlay (docs/agent.md, \"Several segments\")";
        }

        if (path.Type == "local" || path.Device == "lo")
        {
            return $"{via} is this machine's own address (it is a host of the cluster, whose agent routes its peers)";
        }

        return path.Gateway is { } gateway
            ? $"{via} is not on a directly connected network (the kernel reaches it through {gateway}); multi-segment installations need routes on their routers or an overlay (docs/agent.md, \"Several segments\")"
            : null;
    }

    private void Skip(string subnet, GatewayRoute route, string reason)
    {
        if (!_skipped.TryGetValue(subnet, out var last) || last != reason)
        {
            _skipped[subnet] = reason;
            LogRouteSkipped(_logger, subnet, route.Via, route.Host ?? string.Empty, reason);
        }
    }

    private static string Describe(KernelRoute route) =>
        $"{(route.Gateway is { } gateway ? "via " + gateway : "on " + (route.Device ?? "?"))}, protocol {route.Protocol ?? "boot"}";

    private void Save()
    {
        var text = string.Concat(_added.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}\n"));
        DataDirectory.WriteAtomically(_recordFile, System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The record of added routes: one <c>subnet via</c> per line; lines that do not read are dropped.</summary>
    private static Dictionary<string, string> Load(string file)
    {
        var added = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(file))
        {
            return added;
        }

        foreach (var line in File.ReadAllLines(file))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && Ipv4Cidr.TryParse(parts[0], out var subnet))
            {
                added[subnet.Value.ToString()] = parts[1];
            }
        }

        return added;
    }
}

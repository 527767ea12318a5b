using System.Net;
using System.Text.Json;
using Berth.Core.Networking;

namespace Berth.LoadBalancer.Tests.TaskRoutes;

/// <summary>
/// A hand-written fake of <c>ip</c> over a routing table in memory: <c>route show</c>, <c>route get</c> (from the directly
/// connected networks and local addresses given), <c>route replace</c> (replaces whatever route has the destination, as
/// the kernel does for the same destination and metric) and <c>route del ... proto N</c>. Every command line is recorded.
/// </summary>
internal sealed class KernelRouteTable : IHostCommands
{
    public List<Entry> Routes { get; } = [];

    /// <summary>Networks this machine is directly connected to, with their interface.</summary>
    public List<(Ipv4Cidr Network, string Device)> Connected { get; } = [];

    /// <summary>This machine's own addresses.</summary>
    public List<IPAddress> Local { get; } = [];

    public List<string> CommandLines { get; } = [];

    public IEnumerable<Entry> OfProtocol(string protocol) => Routes.Where(r => r.Protocol == protocol);

    public Task<CommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        CommandLines.Add(string.Join(' ', [fileName, .. arguments]));
        Assert.Equal("ip", fileName);
        return Task.FromResult(arguments switch
        {
            ["-j", "-4", "route", "show"] => Json(Routes.Select(r => new Dictionary<string, string?> { ["dst"] = r.Destination, ["gateway"] = r.Gateway, ["dev"] = r.Device, ["protocol"] = r.Protocol })),
            ["-j", "-4", "route", "get", var address] => Get(IPAddress.Parse(address)),
            ["route", "replace", var destination, "via", var via, "proto", var protocol] => Replace(destination, via, protocol),
            ["route", "del", var destination, "proto", var protocol] => Delete(destination, protocol),
            _ => new CommandResult(1, "", $"unexpected: {string.Join(' ', arguments)}"),
        });
    }

    private CommandResult Get(IPAddress address)
    {
        if (Local.Contains(address))
        {
            return Json([new Dictionary<string, string?> { ["type"] = "local", ["dst"] = address.ToString(), ["dev"] = "lo" }]);
        }

        var connected = Connected.FirstOrDefault(c => c.Network.Contains(new Ipv4Cidr(Ipv4Cidr.Parse(address + "/32").Network, 32)));
        return connected.Device is { } device
            ? Json([new Dictionary<string, string?> { ["dst"] = address.ToString(), ["dev"] = device }])
            : Json([new Dictionary<string, string?> { ["dst"] = address.ToString(), ["gateway"] = "192.0.2.1", ["dev"] = "eth0" }]);
    }

    private CommandResult Replace(string destination, string via, string protocol)
    {
        if (Get(IPAddress.Parse(via)).StandardOutput.Contains("gateway", StringComparison.Ordinal))
        {
            return new CommandResult(2, "", "Error: Nexthop has invalid gateway.");
        }

        Routes.RemoveAll(r => r.Destination == destination);
        Routes.Add(new Entry(destination, via, "lab0", protocol));
        return new CommandResult(0, "", "");
    }

    private CommandResult Delete(string destination, string protocol) =>
        Routes.RemoveAll(r => r.Destination == destination && r.Protocol == protocol) > 0
            ? new CommandResult(0, "", "")
            : new CommandResult(2, "", "RTNETLINK answers: No such process");

    private static CommandResult Json(IEnumerable<Dictionary<string, string?>> routes) =>
        new(0, JsonSerializer.Serialize(routes.Select(r => r.Where(kv => kv.Value is not null).ToDictionary())), "");

    internal sealed record Entry(string Destination, string? Gateway, string? Device, string? Protocol);
}

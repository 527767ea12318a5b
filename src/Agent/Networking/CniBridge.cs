using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Agent.Configuration;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// Runs Debian's CNI plugins (<c>containernetworking-plugins</c>) for a task sandbox's network namespace, as the ECS
/// agent does for awsvpc: <c>bridge</c> makes a veth pair with one end on the host's task bridge and the other as
/// <c>eth0</c> in the sandbox, and <c>host-local</c> hands out the address. host-local keeps one file per address
/// (named by the address, holding the sandbox's container id) under the agent's state directory, taking a file lock
/// for each change: the allocations survive an agent restart or kill -9, and <see cref="ReadAllocations"/> reads them
/// back for adoption.
/// </summary>
internal sealed class CniBridge(IHostCommands commands, IOptions<AgentOptions> options, AgentDataDirectory layout)
{
    /// <summary>The CNI network name; also the name of host-local's store directory.</summary>
    public const string NetworkName = "berth-awsvpc";

    /// <summary>The interface name inside every sandbox.</summary>
    public const string InterfaceName = "eth0";

    private const string CniVersion = "1.0.0";

    /// <summary>host-local's data directory (it keeps <c>NetworkName/&lt;address&gt;</c> files there).</summary>
    public string IpamDirectory => layout.CniIpam;

    /// <summary>The network configuration handed to the bridge plugin on stdin.</summary>
    public string NetworkConfig(Ipv4Cidr subnet)
    {
        var awsvpc = options.Value.Awsvpc;
        var config = new CniNetworkConfig
        {
            CniVersion = CniVersion,
            Name = NetworkName,
            Type = "bridge",
            Bridge = awsvpc.BridgeName,

            // The bridge's address is the tasks' default gateway; the agent masquerades itself (Firewall) so that
            // traffic inside the cluster CIDR keeps its task source address for security groups.
            IsGateway = true,
            IpMasq = false,
            Ipam = new CniIpamConfig
            {
                Type = "host-local",
                Ranges = [[new CniRange { Subnet = subnet.ToString(), Gateway = subnet.Gateway.ToString() }]],
                Routes = [new CniRoute { Dst = "0.0.0.0/0" }],
                DataDir = IpamDirectory,
            },
        };
        return JsonSerializer.Serialize(config, CniJsonContext.Default.CniNetworkConfig);
    }

    /// <summary>CNI ADD: wires the namespace at <paramref name="netnsPath"/> to the bridge and gives it an address.</summary>
    public async Task<NetworkAttachment> AddAsync(string containerId, string netnsPath, Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        var result = await InvokeAsync("ADD", containerId, netnsPath, subnet, cancellationToken);
        CniResult? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(result.StandardOutput, CniJsonContext.Default.CniResult);
        }
        catch (JsonException ex)
        {
            throw new NetworkSetupException($"the CNI bridge plugin answered something that is not a CNI result: {ex.Message}");
        }

        var ip = parsed?.Ips?.FirstOrDefault(i => Ipv4Cidr.TryParse(i.Address, out _, bareAddressIsHost: true))
            ?? throw new NetworkSetupException("the CNI bridge plugin returned no IPv4 address");
        var cidr = ip.Address!;
        var address = IPAddress.Parse(cidr[..cidr.IndexOf('/', StringComparison.Ordinal)]);
        var mac = ip.Interface is { } index && parsed!.Interfaces is { } interfaces && index >= 0 && index < interfaces.Count
            ? interfaces[index].Mac ?? string.Empty
            : parsed!.Interfaces?.FirstOrDefault(i => i.Sandbox is { Length: > 0 })?.Mac ?? string.Empty;
        var gateway = Ipv4Cidr.TryParseAddress(ip.Gateway, out var g) ? g : subnet.Gateway;
        return new NetworkAttachment(address, subnet, gateway, mac);
    }

    /// <summary>
    /// CNI DEL: releases the address of <paramref name="containerId"/> and, when its namespace still exists, removes
    /// the veth. Idempotent, as the CNI spec requires: deleting what is already gone succeeds.
    /// </summary>
    public async Task DeleteAsync(string containerId, string? netnsPath, Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        // CNI spec: on DEL the namespace may be gone; the plugin then releases the address only.
        var netns = netnsPath is not null && File.Exists(netnsPath) ? netnsPath : string.Empty;
        await InvokeAsync("DEL", containerId, netns, subnet, cancellationToken);
    }

    /// <summary>Every address host-local has handed out, by the container id it went to.</summary>
    public IReadOnlyDictionary<string, IPAddress> ReadAllocations()
    {
        var result = new Dictionary<string, IPAddress>(StringComparer.Ordinal);
        var store = new DirectoryInfo(Path.Combine(IpamDirectory, NetworkName));
        if (!store.Exists)
        {
            return result;
        }

        foreach (var file in store.EnumerateFiles())
        {
            // Besides the address files, host-local keeps `lock` and `last_reserved_ip.N`.
            if (!Ipv4Cidr.TryParseAddress(file.Name, out var address))
            {
                continue;
            }

            try
            {
                // "<container id>\r\n<interface>" (older releases wrote the id alone).
                var id = File.ReadAllText(file.FullName).Split('\n')[0].Trim();
                if (id.Length > 0)
                {
                    result[id] = address;
                }
            }
            catch (IOException)
            {
                // Released between the listing and the read.
            }
        }

        return result;
    }

    private async Task<CommandResult> InvokeAsync(string command, string containerId, string netnsPath, Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        var pluginDirectory = options.Value.Awsvpc.CniPluginDirectory;
        var plugin = Path.Combine(pluginDirectory, "bridge");
        if (!File.Exists(plugin))
        {
            throw new NetworkSetupException($"the CNI bridge plugin is not at {plugin} (install containernetworking-plugins, or set Awsvpc:CniPluginDirectory)");
        }

        Directory.CreateDirectory(IpamDirectory);
        var environment = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = netnsPath,
            ["CNI_IFNAME"] = InterfaceName,
            ["CNI_PATH"] = pluginDirectory,
        };
        var result = await commands.RunAsync(plugin, [], NetworkConfig(subnet), environment, cancellationToken);
        if (!result.Succeeded)
        {
            throw new NetworkSetupException($"CNI {command} failed: {DescribeError(result)}");
        }

        return result;
    }

    /// <summary>CNI errors come on stdout as <c>{"code":N,"msg":"...","details":"..."}</c>.</summary>
    private static string DescribeError(CommandResult result)
    {
        try
        {
            if (JsonSerializer.Deserialize(result.StandardOutput, CniJsonContext.Default.CniError) is { Msg: { Length: > 0 } msg } error)
            {
                return string.IsNullOrEmpty(error.Details) ? msg : $"{msg}: {error.Details}";
            }
        }
        catch (JsonException)
        {
        }

        return result.Message.Length > 0 ? result.Message : $"exit code {result.ExitCode}";
    }
}

/// <summary>Task networking could not be set up; the message is ready for <c>ResourceInitializationError: ...</c>.</summary>
internal sealed class NetworkSetupException(string message) : Exception(message);

internal sealed class CniNetworkConfig
{
    public string? CniVersion { get; set; }
    public string? Name { get; set; }
    public string? Type { get; set; }
    public string? Bridge { get; set; }
    public bool IsGateway { get; set; }
    public bool IpMasq { get; set; }
    public CniIpamConfig? Ipam { get; set; }
}

internal sealed class CniIpamConfig
{
    public string? Type { get; set; }
    public List<List<CniRange>>? Ranges { get; set; }
    public List<CniRoute>? Routes { get; set; }
    public string? DataDir { get; set; }
}

internal sealed class CniRange
{
    public string? Subnet { get; set; }
    public string? Gateway { get; set; }
}

internal sealed class CniRoute
{
    public string? Dst { get; set; }
}

/// <summary>The CNI 1.0 result (the parts the agent reads).</summary>
internal sealed class CniResult
{
    public List<CniInterface>? Interfaces { get; set; }
    public List<CniIp>? Ips { get; set; }
}

internal sealed class CniInterface
{
    public string? Name { get; set; }
    public string? Mac { get; set; }
    public string? Sandbox { get; set; }
}

internal sealed class CniIp
{
    public string? Address { get; set; }
    public string? Gateway { get; set; }
    public int? Interface { get; set; }
}

internal sealed class CniError
{
    public int Code { get; set; }
    public string? Msg { get; set; }
    public string? Details { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CniNetworkConfig))]
[JsonSerializable(typeof(CniResult))]
[JsonSerializable(typeof(CniError))]
internal sealed partial class CniJsonContext : JsonSerializerContext;

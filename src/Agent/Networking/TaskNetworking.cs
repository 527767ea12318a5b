using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Agent.Configuration;
using Berth.Agent.Dns;
using Berth.Core.Concurrency;
using Berth.Core.IO;
using Berth.Core.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// awsvpc networking of this host, as the task engine sees it: the host's network from the scheduler (or the agent's
/// configuration), attaching a sandbox to it and detaching it, the attachments that exist (read back from CNI's IPAM
/// store after a restart), and the firewall over the local tasks and their security groups. <see cref="SyncAsync"/>
/// converges the host (bridge, routes, rules); <see cref="NetworkSyncLoop"/> runs it on every change and periodically.
/// </summary>
internal sealed partial class TaskNetworking(
    CniBridge cni,
    HostNetwork host,
    Firewall firewall,
    IOptions<AgentOptions> options,
    AgentDataDirectory layout,
    ILogger<TaskNetworking> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _sync = new(1, 1);
    private readonly ChangeSignal _changed = new();
    private readonly ChangeSignal _bridgeChanged = new();
    private HostNetworkSpec? _desired;
    private IReadOnlyDictionary<string, SecurityGroupSpec>? _groups;
    private IReadOnlyList<TaskEndpoint> _endpoints = [];
    private ServiceDiscoverySpec _discovery = ServiceDiscoverySpec.Empty;
    private HostNetworkSpec? _active;

    /// <summary>The host network in force: the scheduler's, else the configured one, else none (awsvpc tasks cannot start).</summary>
    public HostNetworkSpec? Spec
    {
        get
        {
            lock (_lock)
            {
                return _desired ?? Configured;
            }
        }
    }

    /// <summary>The network the bridge carries now (after a successful sync), or null.</summary>
    public HostNetworkSpec? Active
    {
        get
        {
            lock (_lock)
            {
                return _active;
            }
        }
    }

    /// <summary>What the DNS server answers.</summary>
    public ServiceDiscoverySpec Discovery
    {
        get
        {
            lock (_lock)
            {
                return _discovery;
            }
        }
    }

    /// <summary>Completes on the next change of anything <see cref="SyncAsync"/> converges to.</summary>
    public Task Changed => _changed.Next;

    /// <summary>Completes when the bridge address (the DNS server's address) changes.</summary>
    public Task BridgeChanged => _bridgeChanged.Next;

    private HostNetworkSpec? Configured { get; } = FromOptions(options.Value.Awsvpc);

    /// <summary>
    /// Takes the network parts of a desired state (the caller checked it is the newest). A null host network keeps the
    /// configured one; a null discovery keeps the records the server has.
    /// </summary>
    public void SetDesired(HostNetworkSpec? network, IReadOnlyList<SecurityGroupSpec> groups, ServiceDiscoverySpec? discovery)
    {
        lock (_lock)
        {
            _desired = network;
            _groups = groups.GroupBy(g => g.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
            if (discovery is not null)
            {
                _discovery = discovery;
            }
        }

        _changed.Notify();
    }

    /// <summary>The local awsvpc tasks with their addresses and groups (from the task engine, after every pass).</summary>
    public void SetEndpoints(IReadOnlyList<TaskEndpoint> endpoints)
    {
        lock (_lock)
        {
            if (_endpoints.SequenceEqual(endpoints, TaskEndpointComparer.Instance))
            {
                return;
            }

            _endpoints = endpoints;
        }

        _changed.Notify();
    }

    /// <summary>
    /// Converges the host: bridge and sysctls, peer routes, firewall. Before the first desired state (groups unknown)
    /// the firewall of a host that already has tasks (an agent restart) is left as the kernel holds it, so that a
    /// restart never opens or closes anything; a host with no tasks gets its rules at once.
    /// </summary>
    public async Task SyncAsync(bool force, CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken);
        try
        {
            HostNetworkSpec? spec;
            IReadOnlyDictionary<string, SecurityGroupSpec>? groups;
            IReadOnlyList<TaskEndpoint> endpoints;
            lock (_lock)
            {
                spec = _desired ?? Configured;
                groups = _groups;
                endpoints = _endpoints;
            }

            if (spec is null)
            {
                return;
            }

            await host.EnsureBridgeAsync(spec.TaskSubnet, tasksAttached: cni.ReadAllocations().Count > 0, cancellationToken);
            bool bridgeChanged;
            lock (_lock)
            {
                bridgeChanged = _active?.TaskSubnet != spec.TaskSubnet;
                _active = spec;
            }

            if (bridgeChanged)
            {
                _bridgeChanged.Notify();
            }

            await host.SyncRoutesAsync(spec.Peers.Where(p => !p.Subnet.Overlaps(spec.TaskSubnet)).ToList(), cancellationToken);
            if (groups is null && endpoints.Count > 0)
            {
                return;
            }

            groups ??= new Dictionary<string, SecurityGroupSpec>();
            foreach (var (task, group) in endpoints.SelectMany(e => (e.SecurityGroups ?? []).Select(g => (e.TaskId, g))).Where(x => !groups.ContainsKey(x.g)))
            {
                // ECS would refuse the task; here it runs, unreachable: a group nobody described grants nothing.
                LogUnknownGroup(logger, task, group);
            }

            var rules = FirewallRules.Build(options.Value.Awsvpc.BridgeName, spec, endpoints, groups);
            await firewall.ApplyAsync(rules, force, cancellationToken);
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>
    /// CNI ADD for a started sandbox (its namespace is its init process's). An address this sandbox already holds (the
    /// agent died between ADD and its record) is released first, so that ADD is safe to repeat.
    /// </summary>
    public async Task<NetworkAttachment> AttachAsync(string sandboxId, int pid, CancellationToken cancellationToken)
    {
        if (pid <= 0)
        {
            throw new NetworkSetupException("the sandbox container is not running");
        }

        await SyncAsync(force: false, cancellationToken);
        var spec = Active ?? throw new NetworkSetupException("this host has no task subnet (the scheduler sends it; Awsvpc:TaskSubnet sets one)");
        var netns = NetnsPath(pid);
        if (cni.ReadAllocations().ContainsKey(sandboxId))
        {
            await cni.DeleteAsync(sandboxId, netns, spec.TaskSubnet, cancellationToken);
        }

        var attachment = await cni.AddAsync(sandboxId, netns, spec.TaskSubnet, cancellationToken);
        SaveRecord(sandboxId, attachment);
        LogAttached(logger, sandboxId[..Math.Min(12, sandboxId.Length)], attachment.Address, attachment.MacAddress);
        return attachment;
    }

    /// <summary>CNI DEL: the address goes back to the pool (and the veth, if the sandbox still runs).</summary>
    public async Task DetachAsync(string sandboxId, int pid, CancellationToken cancellationToken)
    {
        var subnet = ReadRecord(sandboxId)?.Subnet ?? Spec?.TaskSubnet;
        if (subnet is null)
        {
            // No network was ever configured: nothing can have been allocated.
            return;
        }

        await cni.DeleteAsync(sandboxId, pid > 0 ? NetnsPath(pid) : null, subnet.Value, cancellationToken);
        File.Delete(RecordPath(sandboxId));
        LogDetached(logger, sandboxId[..Math.Min(12, sandboxId.Length)]);
    }

    /// <summary>Every sandbox that holds an address now, read from CNI's IPAM store (the truth after a restart).</summary>
    public IReadOnlyDictionary<string, NetworkAttachment> ReadAttachments()
    {
        var spec = Spec;
        var result = new Dictionary<string, NetworkAttachment>(StringComparer.Ordinal);
        foreach (var (id, address) in cni.ReadAllocations())
        {
            var record = ReadRecord(id);
            result[id] = record is not null && record.Address.Equals(address)
                ? record
                : new NetworkAttachment(address, spec?.TaskSubnet ?? new Ipv4Cidr(Ipv4Cidr.ToUInt(address), 32), spec?.TaskSubnet.Gateway ?? address, string.Empty);
        }

        return result;
    }

    /// <summary>The endpoints the firewall holds now (diagnostics and tests).</summary>
    public IReadOnlyList<TaskEndpoint> Endpoints
    {
        get
        {
            lock (_lock)
            {
                return _endpoints;
            }
        }
    }

    public void Dispose() => _sync.Dispose();

    private static string NetnsPath(int pid) => $"/proc/{pid}/ns/net";

    private string RecordDirectory => layout.Awsvpc;

    private string RecordPath(string sandboxId) => Path.Combine(RecordDirectory, $"{sandboxId}.json");

    private void SaveRecord(string sandboxId, NetworkAttachment attachment)
    {
        Directory.CreateDirectory(RecordDirectory);
        var record = new AttachmentRecord(attachment.Address.ToString(), attachment.Subnet.ToString(), attachment.Gateway.ToString(), attachment.MacAddress);
        OwnerOnlyFile.WriteAtomic(RecordPath(sandboxId), JsonSerializer.SerializeToUtf8Bytes(record, AttachmentJsonContext.Default.AttachmentRecord), durable: true);
    }

    private NetworkAttachment? ReadRecord(string sandboxId)
    {
        try
        {
            var record = JsonSerializer.Deserialize(File.ReadAllBytes(RecordPath(sandboxId)), AttachmentJsonContext.Default.AttachmentRecord);
            return record is not null && Ipv4Cidr.TryParseAddress(record.Address, out var address) && Ipv4Cidr.TryParse(record.Subnet, out var subnet, bareAddressIsHost: true) && Ipv4Cidr.TryParseAddress(record.Gateway, out var gateway)
                ? new NetworkAttachment(address, subnet.Value, gateway, record.MacAddress ?? string.Empty)
                : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }

    private static HostNetworkSpec? FromOptions(AwsvpcOptions awsvpc)
    {
        if (!Ipv4Cidr.TryParse(awsvpc.TaskSubnet, out var subnet, bareAddressIsHost: true))
        {
            return null;
        }

        var peers = awsvpc.PeerRoutes
            .Select(p => Ipv4Cidr.TryParse(p.Subnet, out var s, bareAddressIsHost: true) && Ipv4Cidr.TryParseAddress(p.Via, out var via) ? new PeerRoute(s.Value, via) : null)
            .OfType<PeerRoute>()
            .ToList();
        return new HostNetworkSpec(subnet.Value, Ipv4Cidr.TryParse(awsvpc.ClusterCidr, out var cluster, bareAddressIsHost: true) ? cluster : null, peers);
    }

    private sealed class TaskEndpointComparer : IEqualityComparer<TaskEndpoint>
    {
        public static readonly TaskEndpointComparer Instance = new();

        public bool Equals(TaskEndpoint? x, TaskEndpoint? y) =>
            x is not null && y is not null && x.TaskId == y.TaskId && x.Address.Equals(y.Address)
            && (x.SecurityGroups is null ? y.SecurityGroups is null : y.SecurityGroups is not null && x.SecurityGroups.SequenceEqual(y.SecurityGroups));

        public int GetHashCode(TaskEndpoint obj) => obj.TaskId.GetHashCode(StringComparison.Ordinal);
    }
}

internal sealed record AttachmentRecord(string Address, string Subnet, string Gateway, string? MacAddress);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AttachmentRecord))]
internal sealed partial class AttachmentJsonContext : JsonSerializerContext;

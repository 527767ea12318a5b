using System.Collections.Immutable;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>A container instance. Owned by its <see cref="ClusterState"/>: read and changed only under the cluster's lock.</summary>
internal sealed class InstanceRecord
{
    public required string Id { get; init; }

    public required string Cluster { get; init; }

    public required byte[] CredentialHash { get; init; }

    public InstanceStatus Status { get; set; } = InstanceStatus.Active;

    public DateTimeOffset RegisteredAt { get; init; }

    /// <summary>When it became INACTIVE; it leaves memory and the database some time after (bounded state).</summary>
    public DateTimeOffset? DeregisteredAt { get; set; }

    public required HostFacts Facts { get; set; }

    /// <summary>Attributes put through the API (and the agent's configured ones), by canonical name.</summary>
    public SortedDictionary<string, string> CustomAttributes { get; } = new(StringComparer.Ordinal);

    /// <summary>The global sequence number of the last change of the instance itself that agents must see (status).</summary>
    public long DesiredSeq { get; set; }

    /// <summary>The desired-state version: above every sequence of the instance and of any task placed on it.</summary>
    public long DesiredVersion { get; set; }

    /// <summary>Tasks placed here that are not STOPPED: the desired set, and what holds the instance's resources.</summary>
    public HashSet<TaskRecord> Tasks { get; } = [];

    public bool AgentConnected { get; set; }

    /// <summary>
    /// The address load balancers reach the host's published ports on: the one the agent reports
    /// (<see cref="HostFacts.AdvertiseAddress"/>), or else the address its session came from. Runtime only: set again
    /// when the agent reconnects (targets registered keep theirs).
    /// </summary>
    public string? Address { get; set; }

    /// <summary>Incremented by every new session, so an old session ending does not disconnect a newer one.</summary>
    public long SessionGeneration { get; set; }

    public DateTimeOffset? LastSeenAt { get; set; }

    /// <summary>
    /// When the agent was last heard from (any session message, or the session starting), as a monotonic
    /// <see cref="TimeProvider"/> timestamp; the registration or the scheduler's start when it has not been heard
    /// since. Lost-host detection measures silence from here. Not persisted: a restart gives every agent a full grace period.
    /// </summary>
    public long LastHeard { get; set; }

    public long AcknowledgedVersion { get; set; }

    /// <summary>The host's awsvpc task subnet inside its cluster's task CIDR (stored); null until its agent first connects.</summary>
    public string? TaskSubnet { get; set; }

    /// <summary>
    /// The host's address as its peers route to it (the address its agent's session comes from; stored): the gateway of
    /// the other hosts' routes to <see cref="TaskSubnet"/>.
    /// </summary>
    public string? HostAddress { get; set; }

    /// <summary>A cache slot of the agent edge (Sessions): this host's network entry of its desired state. The record only holds it.</summary>
    public object? EdgeNetwork { get; set; }

    public ulong AppliedSequence { get; set; }

    public string Arn => Arns.ContainerInstance(Cluster, Id);
}

/// <summary>What an agent says about its host, as the scheduler keeps it (validated at the edge and by Instances).</summary>
internal sealed record HostFacts
{
    public string Hostname { get; init; } = "";

    /// <summary>CPU units (1024 per vCPU).</summary>
    public int Cpu { get; init; }

    /// <summary>Memory in MiB.</summary>
    public int Memory { get; init; }

    public string AgentVersion { get; init; } = "";

    public string OsType { get; init; } = "";

    public string CpuArchitecture { get; init; } = "";

    public string Zone { get; init; } = "";

    public string InstanceType { get; init; } = "";

    /// <summary>Attributes the agent is configured with, as it sent them (names not yet canonical).</summary>
    public ImmutableArray<KeyValuePair<string, string>> Attributes { get; init; } = [];

    public ImmutableArray<int> ReservedPorts { get; init; } = [];

    public ImmutableArray<int> ReservedPortsUdp { get; init; } = [];

    public int DynamicPortFirst { get; init; }

    public int DynamicPortLast { get; init; }

    public string RuntimeVersion { get; init; } = "";

    /// <summary>The IP address balancers reach the host's published ports on, as the agent is configured; empty: its session's address.</summary>
    public string AdvertiseAddress { get; init; } = "";

    /// <summary>Equal field by field, the lists element by element.</summary>
    public bool Equals(HostFacts? other) =>
        other is not null
        && (Hostname, Cpu, Memory, AgentVersion, OsType, CpuArchitecture, Zone, InstanceType, DynamicPortFirst, DynamicPortLast, RuntimeVersion, AdvertiseAddress)
            == (other.Hostname, other.Cpu, other.Memory, other.AgentVersion, other.OsType, other.CpuArchitecture, other.Zone, other.InstanceType, other.DynamicPortFirst, other.DynamicPortLast, other.RuntimeVersion, other.AdvertiseAddress)
        && Attributes.SequenceEqual(other.Attributes)
        && ReservedPorts.SequenceEqual(other.ReservedPorts)
        && ReservedPortsUdp.SequenceEqual(other.ReservedPortsUdp);

    public override int GetHashCode() => HashCode.Combine(Hostname, Cpu, Memory, Zone);
}

using System.Net;
using Berth.Core.Networking;

namespace Berth.Agent.Networking;

/// <summary>A route to another host's task subnet through that host (host-gateway routing).</summary>
internal sealed record PeerRoute(Ipv4Cidr Subnet, IPAddress Via, string? InstanceId = null);

/// <summary>This host's awsvpc network: the subnet its tasks get addresses from, the cluster's CIDR, the peers' routes.</summary>
internal sealed record HostNetworkSpec(Ipv4Cidr TaskSubnet, Ipv4Cidr? ClusterCidr, IReadOnlyList<PeerRoute> Peers);

/// <summary>The protocols a security group rule can name.</summary>
internal enum RuleProtocol
{
    All,
    Tcp,
    Udp,
    Icmp,
}

/// <summary>One ingress rule: a protocol and port range from one source (a CIDR or a group's members).</summary>
internal sealed record IngressRule(RuleProtocol Protocol, int FromPort, int ToPort, Ipv4Cidr? SourceCidr, string? SourceGroup);

/// <summary>A security group as the firewall needs it: its rules and its members' addresses, cluster-wide.</summary>
internal sealed record SecurityGroupSpec(string Id, IReadOnlyList<IngressRule> Ingress, IReadOnlyList<IPAddress> Members);

/// <summary>An awsvpc task's interface: the address CNI gave its sandbox, and where it came from.</summary>
internal sealed record NetworkAttachment(IPAddress Address, Ipv4Cidr Subnet, IPAddress Gateway, string MacAddress);

/// <summary>
/// A local awsvpc task as the firewall sees it: an address and the groups it belongs to (empty: not filtered; null:
/// not known, as for a task adopted after a restart that the scheduler no longer lists, which then gets nothing).
/// </summary>
internal sealed record TaskEndpoint(string TaskId, IPAddress Address, IReadOnlyList<string>? SecurityGroups);

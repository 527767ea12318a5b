using System.Collections.Immutable;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A security group (EC2/VPC's subset, issue 17): ingress rules only, egress always allowed. One per id in its cluster's
/// <see cref="ClusterState.SecurityGroups"/> (the cluster stands in for the VPC), read and changed only under the
/// cluster's lock, stored through the transaction like every other record. Rules are kept one source each, as EC2's
/// security group rules are; the API groups them into IpPermissions.
/// </summary>
internal sealed class SecurityGroupRecord
{
    /// <summary>The name of the group every cluster has, which awsvpc tasks that name no group join.</summary>
    public const string DefaultName = "default";

    /// <summary><c>sg-</c> and 17 hex digits, as EC2's.</summary>
    public required string Id { get; init; }

    public required string Cluster { get; init; }

    /// <summary>Unique in the cluster.</summary>
    public required string Name { get; init; }

    public string Description { get; init; } = "";

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The ingress rules, in the order they were authorized.</summary>
    public ImmutableArray<IngressRule> Ingress { get; set; } = [];

    public bool IsDefault => Name == DefaultName;
}

/// <summary>
/// One ingress rule: <see cref="Protocol"/> is <c>tcp</c>, <c>udp</c>, <c>icmp</c> or <c>-1</c> (every protocol; ports
/// are then -1); tcp/udp ports are a range, icmp's are -1 (every type and code). Exactly one of
/// <see cref="SourceCidr"/> (normalised IPv4 CIDR) and <see cref="SourceGroupId"/> is set.
/// </summary>
internal sealed record IngressRule(string Protocol, int FromPort, int ToPort, string? SourceCidr, string? SourceGroupId, string Description)
{
    /// <summary>Whether both rules allow the same thing (EC2 compares rules without their descriptions).</summary>
    public bool SameAs(IngressRule other) =>
        Protocol == other.Protocol && FromPort == other.FromPort && ToPort == other.ToPort && SourceCidr == other.SourceCidr && SourceGroupId == other.SourceGroupId;

    /// <summary>The rule as EC2 names it in its errors (<c>peer: 10.0.0.0/8, TCP, from port: 80, to port: 80, ALLOW</c>).</summary>
    public override string ToString() =>
        $"peer: {SourceCidr ?? SourceGroupId}, {(Protocol == "-1" ? "ALL" : Protocol.ToUpperInvariant())}, from port: {FromPort}, to port: {ToPort}, ALLOW";
}

/// <summary>
/// A group as hosts are sent it: its rules and the awsvpc addresses of its member tasks, cluster-wide, captured when the
/// security group observer published a generation (<see cref="ClusterState.PublishedSecurityGroups"/>).
/// </summary>
internal sealed record PublishedSecurityGroup(string Id, string Name, ImmutableArray<IngressRule> Ingress, ImmutableArray<string> Members);

using System.Collections.Immutable;

namespace Berth.Scheduler.Kernel;

// Load balancing records (issue 16): ELBv2's model as the scheduler's own types. Owned by their cluster's
// LoadBalancingState, read and changed only under the cluster's lock, stored through the transaction
// (Save / Delete), like every other record. No protobuf type appears here: the LoadBalancing edge converts.

/// <summary>Application (HTTP/HTTPS listeners with rules) or network (TCP listeners).</summary>
internal enum BalancerType
{
    Application = 1,
    Network = 2,
}

/// <summary>A listener's protocol (ELB ProtocolEnum, the listener side).</summary>
internal enum ListenerProtocolKind
{
    Http = 1,
    Https = 2,
    Tcp = 3,
}

/// <summary>A target group's protocol (ELB ProtocolEnum, the target side).</summary>
internal enum TargetProtocolKind
{
    Http = 1,
    Https = 2,
    Tcp = 3,
}

/// <summary>
/// ELB's TargetType: what a target group's targets are. <see cref="Instance"/> is the default (0, so stored groups from
/// before the type existed read as it): a container instance's balancer-facing address and a host port, what services
/// of network mode bridge or host register. <see cref="Ip"/>: IP addresses, what awsvpc services register (each task's
/// own address and the container port), as ECS requires of awsvpc services.
/// </summary>
internal enum TargetTypeKind
{
    Instance = 0,
    Ip = 1,
}

/// <summary>Anything stored under the load-balancing tables: addressed by ARN, owned by one cluster.</summary>
internal abstract class LoadBalancingObject
{
    public required string Arn { get; init; }

    public required string Cluster { get; init; }
}

/// <summary>A load balancer (ELB LoadBalancer).</summary>
internal sealed class LoadBalancerRecord : LoadBalancingObject
{
    public required string Name { get; init; }

    /// <summary>The 16 hex digits at the end of the ARN; balancer credentials name it.</summary>
    public required string Id { get; init; }

    public BalancerType Type { get; init; } = BalancerType.Application;

    /// <summary><c>internet-facing</c> or <c>internal</c>.</summary>
    public string Scheme { get; init; } = "internet-facing";

    public int IdleTimeoutSeconds { get; set; } = 60;

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>SHA-256 of each balancer credential's secret made for it (CreateBalancerCredential adds one, replaces none).</summary>
    public List<string> CredentialHashes { get; init; } = [];
}

/// <summary>A listener (ELB Listener) with its default action.</summary>
internal sealed class ListenerRecord : LoadBalancingObject
{
    public required string LoadBalancerArn { get; init; }

    public int Port { get; set; }

    public ListenerProtocolKind Protocol { get; set; }

    /// <summary>HTTPS: the default certificate (one ARN).</summary>
    public ImmutableArray<string> Certificates { get; set; } = [];

    /// <summary>HTTPS: the certificates added for SNI (AddListenerCertificates), without the default one.</summary>
    public ImmutableArray<string> SniCertificates { get; set; } = [];

    /// <summary>Every certificate the listener uses: the default one, then the SNI ones (a method: not part of the stored form).</summary>
    public List<string> AllCertificates() => [.. Certificates, .. SniCertificates.Except(Certificates, StringComparer.Ordinal)];

    public string SslPolicy { get; set; } = "";

    public string AlpnPolicy { get; set; } = "";

    public required ActionSpec DefaultAction { get; set; }
}

/// <summary>A rule of an HTTP(S) listener (ELB Rule); the default rule is the listener's default action, not a record.</summary>
internal sealed class RuleRecord : LoadBalancingObject
{
    public required string ListenerArn { get; init; }

    public int Priority { get; set; }

    public ImmutableArray<ConditionSpec> Conditions { get; set; } = [];

    public required ActionSpec Action { get; set; }
}

/// <summary>
/// A rule condition: <see cref="Field"/> is ELB's field name (host-header, path-pattern, http-header, query-string,
/// http-request-method); <see cref="HeaderName"/> only for http-header; <see cref="Pairs"/> only for query-string.
/// </summary>
internal sealed record ConditionSpec(string Field, string HeaderName, ImmutableArray<string> Values, ImmutableArray<QueryPair> Pairs)
{
    public bool Equals(ConditionSpec? other) => other is not null && Field == other.Field && HeaderName == other.HeaderName
        && Values.SequenceEqual(other.Values) && Pairs.SequenceEqual(other.Pairs);

    public override int GetHashCode() => HashCode.Combine(Field, HeaderName, Values.Length, Pairs.Length);
}

/// <summary>A key/value pair of a query-string condition (empty key: any key).</summary>
internal sealed record QueryPair(string Key, string Value);

/// <summary>
/// A rule's or listener's one final action (ELB Action): forward (weighted target groups, group stickiness),
/// fixed-response or redirect; <see cref="Type"/> says which part is set.
/// </summary>
internal sealed record ActionSpec
{
    public required string Type { get; init; }

    public int Order { get; init; } = 1;

    public ImmutableArray<WeightedTargetGroup> TargetGroups { get; init; } = [];

    public bool GroupStickiness { get; init; }

    public int GroupStickinessSeconds { get; init; }

    public FixedResponseSpec? FixedResponse { get; init; }

    public RedirectSpec? Redirect { get; init; }

    /// <summary>The target groups it forwards to (none for fixed-response and redirect).</summary>
    public IEnumerable<string> ForwardArns => TargetGroups.Select(g => g.TargetGroupArn);
}

/// <summary>A target group in a forward action, with its weight (0-999).</summary>
internal sealed record WeightedTargetGroup(string TargetGroupArn, int Weight);

/// <summary>ELB FixedResponseActionConfig.</summary>
internal sealed record FixedResponseSpec(string StatusCode, string ContentType, string MessageBody);

/// <summary>ELB RedirectActionConfig (empty parts keep the request's).</summary>
internal sealed record RedirectSpec(string Protocol, string Port, string Host, string Path, string Query, string StatusCode);

/// <summary>A target group (ELB TargetGroup) with its targets, registered and draining.</summary>
internal sealed class TargetGroupRecord : LoadBalancingObject
{
    public required string Name { get; init; }

    public TargetProtocolKind Protocol { get; init; } = TargetProtocolKind.Http;

    /// <summary><c>HTTP1</c>, <c>HTTP2</c> or <c>GRPC</c> (HTTP and HTTPS groups).</summary>
    public string ProtocolVersion { get; init; } = "HTTP1";

    public int Port { get; init; }

    /// <summary>ELB TargetType; fixed at creation as in ELB.</summary>
    public TargetTypeKind TargetType { get; init; }

    public required HealthCheckSpec HealthCheck { get; set; }

    public required TargetGroupAttributesSpec Attributes { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Targets by <see cref="TargetRecord.Key"/>.</summary>
    public Dictionary<string, TargetRecord> Targets { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// ELB's health-check settings, every default filled in by the handler. Properties whose valid values include their
/// type's default carry no initializer: the stored form leaves defaults out, and an initializer would turn a stored
/// false or 0 back into something else.
/// </summary>
internal sealed record HealthCheckSpec
{
    public bool Enabled { get; init; }

    /// <summary><c>HTTP</c>, <c>HTTPS</c> or <c>TCP</c>.</summary>
    public string Protocol { get; init; } = "HTTP";

    /// <summary><c>traffic-port</c> or a port number.</summary>
    public string Port { get; init; } = "traffic-port";

    public string Path { get; init; } = "/";

    public int IntervalSeconds { get; init; } = 30;

    public int TimeoutSeconds { get; init; } = 5;

    public int HealthyThreshold { get; init; } = 5;

    public int UnhealthyThreshold { get; init; } = 2;

    public string HttpCode { get; init; } = "200";

    public string GrpcCode { get; init; } = "12";
}

/// <summary>ELB's target-group attributes, every default filled in by the handler (see <see cref="HealthCheckSpec"/>).</summary>
internal sealed record TargetGroupAttributesSpec
{
    public int DeregistrationDelaySeconds { get; init; }

    public bool StickinessEnabled { get; init; }

    public string StickinessType { get; init; } = "lb_cookie";

    public int StickinessSeconds { get; init; } = 86400;

    public int SlowStartSeconds { get; init; }

    /// <summary><c>round_robin</c>, <c>least_outstanding_requests</c> or <c>weighted_random</c>.</summary>
    public string Algorithm { get; init; } = "round_robin";
}

/// <summary>
/// A target (address and port) of a target group. Draining: deregistered, never routed to again, removed when the
/// deregistration delay ends or every balancer replica reports nothing in flight on it. <see cref="StopReason"/> set:
/// the task is stopped with that reason once its last draining target is removed (drain before stop).
/// </summary>
internal sealed record TargetRecord
{
    public required string Id { get; init; }

    public required int Port { get; init; }

    public string AvailabilityZone { get; init; } = "";

    public DateTimeOffset RegisteredAt { get; init; }

    public bool Draining { get; init; }

    public DateTimeOffset? DrainStartedAt { get; init; }

    public DateTimeOffset? DrainDeadline { get; init; }

    /// <summary>The task (id) the target belongs to; empty for targets registered by hand.</summary>
    public string TaskId { get; init; } = "";

    /// <summary>The service that registered it; empty for targets registered by hand.</summary>
    public string Service { get; init; } = "";

    public StopCode? StopCode { get; init; }

    public string? StopReason { get; init; }

    public string Key => KeyOf(Id, Port);

    public static string KeyOf(string id, int port) => $"{id}:{port}";
}

/// <summary>
/// A service's link to a target group (ECS loadBalancers entry): its tasks' <see cref="ContainerName"/> port
/// <see cref="ContainerPort"/> is registered in the group.
/// </summary>
internal sealed record ServiceLoadBalancer(string TargetGroupArn, string ContainerName, int ContainerPort);

/// <summary>The keys of the kernel's account-wide load-balancing index.</summary>
internal static class LoadBalancingKeys
{
    public static string LoadBalancerName(string name) => "lb:" + name;

    public static string TargetGroupName(string name) => "tg:" + name;
}

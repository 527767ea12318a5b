using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Berth.LoadBalancer.Model;

/// <summary>
/// The configuration a balancer serves, validated and compiled from the watch stream's wire types: listeners with
/// their rules in evaluation order, target groups with their targets. Immutable; a change makes a new one, sharing
/// every part it does not change (<see cref="TargetGroups"/> is an immutable map so that a change to one group's
/// targets replaces one entry, not a thousand).
/// </summary>
internal sealed record BalancerModel(
    string Epoch,
    long Version,
    string LoadBalancerArn,
    string LoadBalancerName,
    TimeSpan IdleTimeout,
    ImmutableArray<ListenerModel> Listeners,
    ImmutableDictionary<string, TargetGroupModel> TargetGroups)
{
    /// <summary>Listeners by port.</summary>
    public FrozenDictionary<int, ListenerModel> ListenersByPort { get; } = Listeners.ToFrozenDictionary(l => l.Port);
}

internal enum ListenerProtocol
{
    Http,
    Https,
    Tcp,
}

/// <summary>A listener; <see cref="Rules"/> are in evaluation order (by priority, the default rule last).</summary>
internal sealed record ListenerModel(
    string Arn,
    int Port,
    ListenerProtocol Protocol,
    CertificateModel? Certificate,
    string AlpnPolicy,
    ImmutableArray<RuleModel> Rules)
{
    /// <summary>The default rule's action (for TCP listeners, a forward to one target group).</summary>
    public ActionModel DefaultAction => Rules[^1].Action;
}

/// <summary>Certificate chain and key of an HTTPS listener, PEM.</summary>
internal sealed record CertificateModel(string Arn, string CertificatePem, string PrivateKeyPem);

/// <summary>A rule: the first by priority whose conditions all match decides the action.</summary>
/// <remarks><see cref="Fingerprint"/> is a hash of the rule's wire form: it changes exactly when the rule does.</remarks>
internal sealed record RuleModel(string Arn, int Priority, bool IsDefault, ImmutableArray<RuleCondition> Conditions, ActionModel Action, string Fingerprint)
{
    /// <summary>ELB: all conditions match (the default rule has none and matches everything).</summary>
    public bool Matches(Microsoft.AspNetCore.Http.HttpRequest request)
    {
        foreach (var condition in Conditions)
        {
            if (!condition.Matches(request))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The default rule's order: after every numbered one (priorities go up to 50,000).</summary>
    public const int DefaultPriority = 1_000_000;
}

internal abstract record ActionModel;

/// <summary>forward: to one target group, or to several with weights.</summary>
internal sealed record ForwardAction(ImmutableArray<WeightedTargetGroup> TargetGroups, TimeSpan? GroupStickiness) : ActionModel
{
    /// <summary>The sum of the weights; a request draws a number below it.</summary>
    public int TotalWeight { get; } = TargetGroups.Sum(g => g.Weight);
}

internal sealed record WeightedTargetGroup(string TargetGroupArn, int Weight);

/// <summary>fixed-response: the balancer answers itself.</summary>
internal sealed record FixedResponseAction(int StatusCode, string? ContentType, byte[] Body) : ActionModel;

/// <summary>redirect: each part may use <c>#{protocol}</c>, <c>#{host}</c>, <c>#{port}</c>, <c>#{path}</c>, <c>#{query}</c>.</summary>
internal sealed record RedirectAction(string Protocol, string Port, string Host, string Path, string Query, int StatusCode) : ActionModel;

internal enum TargetProtocol
{
    Http,
    Https,
    Tcp,
}

internal enum TargetProtocolVersion
{
    Http1,
    Http2,
    Grpc,
}

internal enum HealthCheckProtocol
{
    Http,
    Https,
    Tcp,
}

internal enum LoadBalancingAlgorithm
{
    RoundRobin,
    LeastOutstandingRequests,
    WeightedRandom,
}

/// <summary>A target group with its targets (registered and draining).</summary>
internal sealed record TargetGroupModel(
    string Arn,
    string Name,
    TargetProtocol Protocol,
    TargetProtocolVersion ProtocolVersion,
    int Port,
    HealthCheckModel HealthCheck,
    TimeSpan DeregistrationDelay,
    TimeSpan? Stickiness,
    TimeSpan SlowStart,
    LoadBalancingAlgorithm Algorithm,
    ImmutableArray<TargetModel> Targets);

/// <summary>A target: <see cref="Key"/> is <c>host:port</c> (YARP's destination id too).</summary>
internal sealed record TargetModel(string Host, int Port, bool Draining, DateTimeOffset? DrainDeadline, DateTimeOffset? RegisteredAt, string TaskArn)
{
    public string Key { get; } = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>ELB's health check of a target group, defaults filled in.</summary>
internal sealed record HealthCheckModel(
    bool Enabled,
    HealthCheckProtocol Protocol,
    int? Port,
    string Path,
    TimeSpan Interval,
    TimeSpan Timeout,
    int HealthyThreshold,
    int UnhealthyThreshold,
    CodeMatcher Matcher);

/// <summary>ELB's matcher syntax: <c>200</c>, <c>200,202</c>, <c>200-299</c>, and combinations.</summary>
internal sealed record CodeMatcher(string Text, ImmutableArray<(int From, int To)> Ranges)
{
    // By text: ImmutableArray compares by reference, and an unchanged health check must compare equal across
    // configurations (or every change would restart every probe).
    public bool Equals(CodeMatcher? other) => other is not null && Text == other.Text;

    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    public bool Matches(int code)
    {
        foreach (var (from, to) in Ranges)
        {
            if (code >= from && code <= to)
            {
                return true;
            }
        }

        return false;
    }
}

using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Authentication;
using Berth.Core.Networking;

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

    /// <summary>
    /// Routes to the task subnets of the load balancer's cluster (when it forwards to <c>ip</c> target groups), ordered by
    /// subnet; <c>TaskRoutes/TaskRouteProgrammer</c> puts them in the kernel when it may.
    /// </summary>
    public ImmutableArray<GatewayRoute> TaskRoutes { get; init; } = [];
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
    ListenerTls? Tls,
    string AlpnPolicy,
    ImmutableArray<RuleModel> Rules)
{
    /// <summary>The default rule's action (for TCP listeners, a forward to one target group).</summary>
    public ActionModel DefaultAction => Rules[^1].Action;
}

/// <summary>
/// An HTTPS listener's TLS: its default certificate, the certificates added for SNI, and the TLS versions its policy
/// allows. The handshake callback (<c>Listeners/ListenerTlsHandshake</c>) reads it per connection, so a new
/// certificate or policy applies to the next connection without touching the listener's socket.
/// </summary>
internal sealed record ListenerTls(CertificateModel Default, ImmutableArray<CertificateModel> Sni, string SslPolicy, SslProtocols Protocols)
{
    // By value: ImmutableArray compares by reference, and an unchanged listener must compare equal across builds.
    public bool Equals(ListenerTls? other) => other is not null && Default.Equals(other.Default) && Sni.SequenceEqual(other.Sni)
        && SslPolicy == other.SslPolicy && Protocols == other.Protocols;

    public override int GetHashCode() => HashCode.Combine(Default, Sni.Length, SslPolicy);

    /// <summary>
    /// ELB's choice: the certificate whose names match the client's SNI name (an exact name before a wildcard, the
    /// default certificate first among equals), else the default one (also when the client sent no name).
    /// </summary>
    public CertificateModel Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return Default;
        }

        var match = Default.Match(serverName);
        if (match == NameMatch.Exact)
        {
            return Default;
        }

        var wildcard = match == NameMatch.Wildcard ? Default : null;
        foreach (var certificate in Sni)
        {
            switch (certificate.Match(serverName))
            {
                case NameMatch.Exact:
                    return certificate;
                case NameMatch.Wildcard:
                    wildcard ??= certificate;
                    break;
            }
        }

        return wildcard ?? Default;
    }
}

internal enum NameMatch
{
    None,
    Wildcard,
    Exact,
}

/// <summary>
/// A certificate of an HTTPS listener: its PEM (certificate, then chain; key) as configured, the DNS names it serves
/// and the <see cref="SslStreamCertificateContext"/> made from it once (leaf, key and intermediates, so the handshake
/// sends the chain). Equal by ARN and PEM: a rebuilt model with the same material compares equal.
/// </summary>
internal sealed class CertificateModel(string arn, string certificatePem, string privateKeyPem, ImmutableArray<string> names, SslStreamCertificateContext context) : IEquatable<CertificateModel>
{
    public string Arn { get; } = arn;

    public string CertificatePem { get; } = certificatePem;

    public string PrivateKeyPem { get; } = privateKeyPem;

    /// <summary>The DNS names (subject alternative names, or the common name when there are none), lower case.</summary>
    public ImmutableArray<string> Names { get; } = names;

    public SslStreamCertificateContext Context { get; } = context;

    /// <summary>How a client's SNI name matches: exactly, by a <c>*.</c> wildcard (one label, as TLS clients match), or not.</summary>
    public NameMatch Match(string serverName)
    {
        var result = NameMatch.None;
        foreach (var name in Names)
        {
            if (string.Equals(name, serverName, StringComparison.OrdinalIgnoreCase))
            {
                return NameMatch.Exact;
            }

            if (name.StartsWith("*.", StringComparison.Ordinal) && serverName.IndexOf('.', StringComparison.Ordinal) is var dot and > 0
                && string.Equals(serverName[(dot + 1)..], name[2..], StringComparison.OrdinalIgnoreCase))
            {
                result = NameMatch.Wildcard;
            }
        }

        return result;
    }

    public bool Equals(CertificateModel? other) => other is not null && Arn == other.Arn && CertificatePem == other.CertificatePem && PrivateKeyPem == other.PrivateKeyPem;

    public override bool Equals(object? obj) => Equals(obj as CertificateModel);

    public override int GetHashCode() => HashCode.Combine(Arn, CertificatePem.Length);
}

/// <summary>A rule: the first by priority whose conditions all match decides the action.</summary>
/// <remarks><see cref="Fingerprint"/> is the rule's wire form (base64): it changes exactly when the rule does.</remarks>
internal sealed record RuleModel(string Arn, int Priority, bool IsDefault, ImmutableArray<RuleCondition> Conditions, ActionModel Action, string Fingerprint)
{
    /// <summary>ELB: all conditions match (the default rule has none and matches everything).</summary>
    public bool Matches<TRequest>(ref TRequest request)
        where TRequest : struct, IRuleRequest
    {
        foreach (var condition in Conditions)
        {
            if (!condition.Matches(ref request))
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

using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Berth.Core.Networking;
using V1 = Berth.Scheduler.V1;

namespace Berth.LoadBalancer.Model;

/// <summary>
/// Validates a <see cref="V1.BalancerConfig"/> against ELB's rules and compiles it into a <see cref="BalancerModel"/>.
/// The scheduler validates too; the balancer checks again because it must never serve a configuration it cannot
/// honour (a half-applied configuration is worse than the last good one).
/// </summary>
internal static class ModelBuilder
{
    private const int MaxPriority = 50_000;

    /// <summary>Throws <see cref="ConfigValidationException"/> naming the first bad field.</summary>
    public static BalancerModel Build(string epoch, long version, V1.BalancerConfig config)
    {
        var lb = config.LoadBalancer ?? throw new ConfigValidationException("load_balancer", "is required");
        Require(lb.LoadBalancerArn.Length > 0, "load_balancer.load_balancer_arn", "is required");

        var certificates = new Dictionary<string, CertificateModel>(StringComparer.Ordinal);
        for (var i = 0; i < config.Certificates.Count; i++)
        {
            var c = config.Certificates[i];
            var field = $"certificates[{i}]";
            Require(c.CertificateArn.Length > 0, field + ".certificate_arn", "is required");
            Require(c.CertificatePem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal), field + ".certificate_pem", "is not a PEM certificate");
            Require(c.PrivateKeyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal), field + ".private_key_pem", "is not a PEM private key");
            certificates[c.CertificateArn] = TlsMaterial.Load(c.CertificateArn, c.CertificatePem, c.PrivateKeyPem, field);
        }

        var groups = new Dictionary<string, TargetGroupModel>(StringComparer.Ordinal);
        for (var i = 0; i < config.TargetGroups.Count; i++)
        {
            var group = BuildTargetGroup(config.TargetGroups[i], $"target_groups[{i}]");
            Require(groups.TryAdd(group.Arn, group), $"target_groups[{i}].target_group.target_group_arn", $"'{group.Arn}' appears twice");
        }

        var rulesByListener = config.Rules
            .Select((r, i) => (Rule: r, Index: i))
            .GroupBy(x => x.Rule.ListenerArn, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        // ELB's quota; the balancer also names its HTTPS endpoints in as many slots (Listeners/ListenerEndpoints).
        Require(config.Listeners.Count <= TlsMaterial.MaxListeners, "listeners", $"a load balancer takes at most {TlsMaterial.MaxListeners} listeners (TooManyListeners)");
        var listeners = ImmutableArray.CreateBuilder<ListenerModel>();
        var ports = new HashSet<int>();
        for (var i = 0; i < config.Listeners.Count; i++)
        {
            var l = config.Listeners[i];
            var field = $"listeners[{i}]";
            Require(l.ListenerArn.Length > 0, field + ".listener_arn", "is required");
            Require(l.Port is >= 1 and <= 65535, field + ".port", $"{l.Port} is not a port (1-65535)");
            Require(ports.Add(l.Port), field + ".port", $"port {l.Port} is used by two listeners (DuplicateListener)");
            var protocol = l.Protocol switch
            {
                V1.ListenerProtocol.Http => ListenerProtocol.Http,
                V1.ListenerProtocol.Https => ListenerProtocol.Https,
                V1.ListenerProtocol.Tcp => ListenerProtocol.Tcp,
                _ => throw new ConfigValidationException(field + ".protocol", "must be HTTP, HTTPS or TCP"),
            };

            ListenerTls? tls = null;
            if (protocol == ListenerProtocol.Https)
            {
                Require(l.Certificates.Count == 1, field + ".certificates", "an HTTPS listener needs exactly one certificate");
                var sni = ImmutableArray.CreateBuilder<CertificateModel>(l.SniCertificates.Count);
                for (var j = 0; j < l.SniCertificates.Count; j++)
                {
                    sni.Add(Certificate(certificates, l.SniCertificates[j].CertificateArn, $"{field}.sni_certificates[{j}].certificate_arn"));
                }

                var policy = l.SslPolicy.Length == 0 ? TlsMaterial.DefaultPolicy : l.SslPolicy;
                var versions = TlsMaterial.Protocols(policy)
                    ?? throw new ConfigValidationException(field + ".ssl_policy", $"'{policy}' is not an ELB security policy this balancer knows (SSLPolicyNotFound)");
                tls = new ListenerTls(Certificate(certificates, l.Certificates[0].CertificateArn, field + ".certificates[0].certificate_arn"), sni.ToImmutable(), policy, versions);
            }

            Require(l.DefaultActions.Count == 1, field + ".default_actions", "exactly one action is required");
            var defaultAction = BuildAction(l.DefaultActions[0], field + ".default_actions[0]", groups);
            var rules = new List<RuleModel>();
            if (rulesByListener.Remove(l.ListenerArn, out var own))
            {
                Require(protocol != ListenerProtocol.Tcp, $"rules[{own[0].Index}].listener_arn", "a TCP listener takes no rules");
                var priorities = new HashSet<int>();
                foreach (var (rule, index) in own)
                {
                    var model = BuildRule(rule, $"rules[{index}]", groups);
                    Require(priorities.Add(model.Priority), $"rules[{index}].priority", $"priority {model.Priority} is used twice on listener {l.ListenerArn} (PriorityInUse)");
                    rules.Add(model);
                }
            }

            if (protocol == ListenerProtocol.Tcp)
            {
                Require(defaultAction is ForwardAction { TargetGroups.Length: 1 }, field + ".default_actions[0]", "a TCP listener forwards to exactly one target group");
                var group = groups[((ForwardAction)defaultAction).TargetGroups[0].TargetGroupArn];
                Require(group.Protocol == TargetProtocol.Tcp, field + ".default_actions[0].forward", $"target group {group.Name} is {group.Protocol}, a TCP listener needs a TCP target group");
            }
            else
            {
                foreach (var rule in rules.Append(new RuleModel(l.ListenerArn, RuleModel.DefaultPriority, true, [], defaultAction, "")))
                {
                    if (rule.Action is ForwardAction forward)
                    {
                        foreach (var g in forward.TargetGroups)
                        {
                            Require(groups[g.TargetGroupArn].Protocol != TargetProtocol.Tcp, field, $"an HTTP(S) listener cannot forward to the TCP target group {groups[g.TargetGroupArn].Name}");
                        }
                    }
                }
            }

            rules.Sort((a, b) => a.Priority.CompareTo(b.Priority));
            rules.Add(new RuleModel(l.ListenerArn + "/default", RuleModel.DefaultPriority, true, [], defaultAction, Fingerprint(l.DefaultActions[0])));
            listeners.Add(new ListenerModel(l.ListenerArn, l.Port, protocol, tls, l.AlpnPolicy, [.. rules]));
        }

        if (rulesByListener.Count > 0)
        {
            var orphan = rulesByListener.First().Value[0];
            throw new ConfigValidationException($"rules[{orphan.Index}].listener_arn", $"listener '{orphan.Rule.ListenerArn}' is not in the configuration (ListenerNotFound)");
        }

        var idle = lb.IdleTimeoutSeconds == 0 ? 60 : lb.IdleTimeoutSeconds;
        Require(idle is >= 1 and <= 4000, "load_balancer.idle_timeout_seconds", $"{idle} is outside 1-4000");
        return new BalancerModel(epoch, version, lb.LoadBalancerArn, lb.LoadBalancerName, TimeSpan.FromSeconds(idle),
            listeners.ToImmutable(), groups.ToImmutableDictionary(StringComparer.Ordinal))
        {
            TaskRoutes = BuildTaskRoutes(config),
        };
    }

    private static ImmutableArray<GatewayRoute> BuildTaskRoutes(V1.BalancerConfig config)
    {
        var routes = ImmutableArray.CreateBuilder<GatewayRoute>(config.TaskRoutes.Count);
        var subnets = new HashSet<Ipv4Cidr>();
        for (var i = 0; i < config.TaskRoutes.Count; i++)
        {
            var route = config.TaskRoutes[i];
            var field = $"task_routes[{i}]";
            if (!Ipv4Cidr.TryParse(route.Subnet, out var subnet))
            {
                throw new ConfigValidationException(field + ".subnet", $"'{route.Subnet}' is not an IPv4 CIDR");
            }

            if (!Ipv4Cidr.TryParseAddress(route.Via, out var via))
            {
                throw new ConfigValidationException(field + ".via", $"'{route.Via}' is not an IPv4 address");
            }

            Require(subnets.Add(subnet.Value), field + ".subnet", $"{subnet} appears twice");
            routes.Add(new GatewayRoute(subnet.Value, via, route.ContainerInstanceId));
        }

        return [.. routes.OrderBy(r => r.Subnet.Network)];
    }

    /// <summary>
    /// The model after a delta that changed only the targets of <paramref name="changedGroups"/>: those groups are
    /// compiled again from <paramref name="config"/>, everything else is <paramref name="previous"/>'s own objects.
    /// Equal to <see cref="Build"/> of the same configuration (the listeners name groups by ARN only, and a group's
    /// protocol, the one group property they check, does not change with its targets), at the cost of the groups
    /// changed instead of the whole configuration. Throws <see cref="ConfigValidationException"/> like Build.
    /// </summary>
    public static BalancerModel WithTargets(BalancerModel previous, long version, V1.BalancerConfig config, IReadOnlySet<string> changedGroups)
    {
        var groups = previous.TargetGroups.ToBuilder();
        for (var i = 0; i < config.TargetGroups.Count && changedGroups.Count > 0; i++)
        {
            var state = config.TargetGroups[i];
            if (state.TargetGroup is { } g && changedGroups.Contains(g.TargetGroupArn))
            {
                groups[g.TargetGroupArn] = BuildTargetGroup(state, $"target_groups[{i}]");
            }
        }

        return previous with { Version = version, TargetGroups = groups.ToImmutable() };
    }

    private static RuleModel BuildRule(V1.Rule rule, string field, Dictionary<string, TargetGroupModel> groups)
    {
        Require(rule.RuleArn.Length > 0, field + ".rule_arn", "is required");
        Require(!rule.IsDefault, field + ".is_default", "default rules travel as the listener's default_actions");
        Require(rule.Priority is >= 1 and <= MaxPriority, field + ".priority", $"{rule.Priority} is outside 1-{MaxPriority}");
        Require(rule.Conditions.Count is >= 1 and <= 5, field + ".conditions", "a rule has 1-5 conditions");
        Require(rule.Actions.Count == 1, field + ".actions", "exactly one action is required");
        var conditions = ImmutableArray.CreateBuilder<RuleCondition>();
        var valueCount = 0;
        for (var i = 0; i < rule.Conditions.Count; i++)
        {
            conditions.Add(BuildCondition(rule.Conditions[i], $"{field}.conditions[{i}]", ref valueCount));
        }

        Require(valueCount <= 5, field + ".conditions", $"{valueCount} condition values; ELB allows 5 per rule");
        return new RuleModel(rule.RuleArn, rule.Priority, false, conditions.ToImmutable(), BuildAction(rule.Actions[0], field + ".actions[0]", groups), Fingerprint(rule));
    }

    private static string Fingerprint(Google.Protobuf.IMessage message) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Google.Protobuf.MessageExtensions.ToByteArray(message)).AsSpan(0, 8));

    private static RuleCondition BuildCondition(V1.RuleCondition c, string field, ref int valueCount)
    {
        switch (c.ConditionCase)
        {
            case V1.RuleCondition.ConditionOneofCase.HostHeader:
                valueCount += c.HostHeader.Values.Count;
                return new HostHeaderCondition(Patterns(c.HostHeader.Values, field + ".host_header.values", ignoreCase: true, static (v, f) =>
                    Require(v.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' or '*' or '?'), f, $"'{v}' may hold only A-Z, a-z, 0-9, - . * ?")));
            case V1.RuleCondition.ConditionOneofCase.PathPattern:
                valueCount += c.PathPattern.Values.Count;
                return new PathPatternCondition(Patterns(c.PathPattern.Values, field + ".path_pattern.values", ignoreCase: false, static (v, f) =>
                    Require(v.StartsWith('/'), f, $"'{v}' must start with '/'")));
            case V1.RuleCondition.ConditionOneofCase.HttpHeader:
                var name = c.HttpHeader.HttpHeaderName;
                Require(name.Length is >= 1 and <= 40 && name.All(ch => char.IsAsciiLetterOrDigit(ch) || "!#$%&'*+-.^_`|~".Contains(ch)), field + ".http_header.http_header_name", $"'{name}' is not a header name (1-40 token characters)");
                Require(!name.Equals("Host", StringComparison.OrdinalIgnoreCase), field + ".http_header.http_header_name", "use a host-header condition for Host");
                valueCount += c.HttpHeader.Values.Count;
                return new HttpHeaderCondition(name, Patterns(c.HttpHeader.Values, field + ".http_header.values", ignoreCase: true, null));
            case V1.RuleCondition.ConditionOneofCase.QueryString:
                Require(c.QueryString.Values.Count > 0, field + ".query_string.values", "at least one key/value pair is required");
                valueCount += c.QueryString.Values.Count;
                var pairs = ImmutableArray.CreateBuilder<(WildcardPattern?, WildcardPattern)>();
                for (var i = 0; i < c.QueryString.Values.Count; i++)
                {
                    var kv = c.QueryString.Values[i];
                    Require(kv.Value.Length is >= 1 and <= 128, $"{field}.query_string.values[{i}].value", "must be 1-128 characters");
                    Require(kv.Key.Length <= 128, $"{field}.query_string.values[{i}].key", "must be at most 128 characters");
                    pairs.Add((kv.Key.Length == 0 ? null : new WildcardPattern(kv.Key, true), new WildcardPattern(kv.Value, true)));
                }

                return new QueryStringCondition(pairs.ToImmutable());
            case V1.RuleCondition.ConditionOneofCase.HttpRequestMethod:
                Require(c.HttpRequestMethod.Values.Count > 0, field + ".http_request_method.values", "at least one method is required");
                valueCount += c.HttpRequestMethod.Values.Count;
                foreach (var m in c.HttpRequestMethod.Values)
                {
                    Require(m.Length is >= 1 and <= 40 && m.All(ch => ch is (>= 'A' and <= 'Z') or '-' or '_'), field + ".http_request_method.values", $"'{m}' is not a method (A-Z, - and _)");
                }

                return new HttpRequestMethodCondition([.. c.HttpRequestMethod.Values]);
            default:
                throw new ConfigValidationException(field, "no condition is set (host_header, path_pattern, http_header, query_string or http_request_method)");
        }
    }

    private static ImmutableArray<WildcardPattern> Patterns(Google.Protobuf.Collections.RepeatedField<string> values, string field, bool ignoreCase, Action<string, string>? check)
    {
        Require(values.Count > 0, field, "at least one value is required");
        var result = ImmutableArray.CreateBuilder<WildcardPattern>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            Require(v.Length is >= 1 and <= 128, $"{field}[{i}]", "must be 1-128 characters");
            check?.Invoke(v, $"{field}[{i}]");
            result.Add(new WildcardPattern(v, ignoreCase));
        }

        return result.MoveToImmutable();
    }

    private static ActionModel BuildAction(V1.RuleAction action, string field, Dictionary<string, TargetGroupModel> groups)
    {
        switch (action.BodyCase)
        {
            case V1.RuleAction.BodyOneofCase.Forward:
                var f = action.Forward;
                Require(f.TargetGroups.Count is >= 1 and <= 5, field + ".forward.target_groups", "1-5 target groups");
                var tuples = ImmutableArray.CreateBuilder<WeightedTargetGroup>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < f.TargetGroups.Count; i++)
                {
                    var t = f.TargetGroups[i];
                    var tf = $"{field}.forward.target_groups[{i}]";
                    Require(groups.ContainsKey(t.TargetGroupArn), tf + ".target_group_arn", $"target group '{t.TargetGroupArn}' is not in the configuration (TargetGroupNotFound)");
                    Require(seen.Add(t.TargetGroupArn), tf + ".target_group_arn", "appears twice in one action");
                    var weight = t.HasWeight ? t.Weight : 1;
                    Require(weight is >= 0 and <= 999, tf + ".weight", $"{weight} is outside 0-999");
                    tuples.Add(new WeightedTargetGroup(t.TargetGroupArn, weight));
                }

                TimeSpan? stickiness = null;
                if (f.TargetGroupStickiness is { Enabled: true } s)
                {
                    Require(s.DurationSeconds is >= 1 and <= 604_800, field + ".forward.target_group_stickiness.duration_seconds", "must be 1-604800");
                    stickiness = TimeSpan.FromSeconds(s.DurationSeconds);
                }

                var forward = new ForwardAction(tuples.ToImmutable(), stickiness);
                Require(forward.TotalWeight > 0, field + ".forward.target_groups", "at least one weight must be above 0");
                return forward;
            case V1.RuleAction.BodyOneofCase.FixedResponse:
                var fr = action.FixedResponse;
                Require(fr.StatusCode.Length == 3 && fr.StatusCode[0] is '2' or '4' or '5' && int.TryParse(fr.StatusCode, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                    field + ".fixed_response.status_code", $"'{fr.StatusCode}' is not a 2XX, 4XX or 5XX code");
                Require(fr.ContentType is "" or "text/plain" or "text/css" or "text/html" or "application/javascript" or "application/json",
                    field + ".fixed_response.content_type", $"'{fr.ContentType}' is not text/plain, text/css, text/html, application/javascript or application/json");
                var body = Encoding.UTF8.GetBytes(fr.MessageBody);
                Require(body.Length <= 1024, field + ".fixed_response.message_body", $"{body.Length} bytes; at most 1024");
                return new FixedResponseAction(int.Parse(fr.StatusCode, CultureInfo.InvariantCulture), fr.ContentType.Length == 0 ? null : fr.ContentType, body);
            case V1.RuleAction.BodyOneofCase.Redirect:
                var r = action.Redirect;
                var status = r.StatusCode switch
                {
                    "HTTP_301" => 301,
                    "HTTP_302" => 302,
                    _ => throw new ConfigValidationException(field + ".redirect.status_code", $"'{r.StatusCode}' is not HTTP_301 or HTTP_302"),
                };
                var protocol = r.Protocol.Length == 0 ? "#{protocol}" : r.Protocol;
                Require(protocol is "HTTP" or "HTTPS" or "#{protocol}", field + ".redirect.protocol", $"'{protocol}' is not HTTP, HTTPS or #{{protocol}}");
                var port = r.Port.Length == 0 ? "#{port}" : r.Port;
                Require(port == "#{port}" || (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 65535), field + ".redirect.port", $"'{port}' is not a port or #{{port}}");
                var path = r.Path.Length == 0 ? "/#{path}" : r.Path;
                Require(path.StartsWith('/'), field + ".redirect.path", $"'{path}' must start with '/'");
                var host = r.Host.Length == 0 ? "#{host}" : r.Host;
                var query = r.Query.Length == 0 ? "#{query}" : r.Query;
                Require(!query.StartsWith('?'), field + ".redirect.query", "leave out the leading '?'");
                Require(protocol != "#{protocol}" || port != "#{port}" || host != "#{host}" || path != "/#{path}" || query != "#{query}",
                    field + ".redirect", "a redirect to the request's own URL would loop");
                return new RedirectAction(protocol, port, host, path, query, status);
            default:
                throw new ConfigValidationException(field, "no action is set (forward, fixed_response or redirect)");
        }
    }

    private static TargetGroupModel BuildTargetGroup(V1.TargetGroupState state, string field)
    {
        var g = state.TargetGroup ?? throw new ConfigValidationException(field + ".target_group", "is required");
        field += ".target_group";
        Require(g.TargetGroupArn.Length > 0, field + ".target_group_arn", "is required");
        Require(g.Port is >= 1 and <= 65535, field + ".port", $"{g.Port} is not a port (1-65535)");
        var protocol = g.Protocol switch
        {
            V1.TargetProtocol.Http or V1.TargetProtocol.Unspecified => TargetProtocol.Http,
            V1.TargetProtocol.Https => TargetProtocol.Https,
            V1.TargetProtocol.Tcp => TargetProtocol.Tcp,
            _ => throw new ConfigValidationException(field + ".protocol", "must be HTTP, HTTPS or TCP"),
        };
        var version = g.ProtocolVersion switch
        {
            V1.TargetProtocolVersion.Http2 => TargetProtocolVersion.Http2,
            V1.TargetProtocolVersion.Grpc => TargetProtocolVersion.Grpc,
            _ => TargetProtocolVersion.Http1,
        };
        Require(protocol != TargetProtocol.Tcp || version == TargetProtocolVersion.Http1, field + ".protocol_version", "applies to HTTP and HTTPS target groups only");

        var health = BuildHealthCheck(g.HealthCheck ?? new V1.HealthCheck(), protocol, version, field + ".health_check");
        var attributes = g.Attributes ?? new V1.TargetGroupAttributes();
        var delay = attributes.HasDeregistrationDelaySeconds ? attributes.DeregistrationDelaySeconds : 300;
        Require(delay is >= 0 and <= 3600, field + ".attributes.deregistration_delay_seconds", $"{delay} is outside 0-3600");
        TimeSpan? stickiness = null;
        if (attributes.Stickiness is { Enabled: true } s)
        {
            var expected = protocol == TargetProtocol.Tcp ? "source_ip" : "lb_cookie";
            Require(s.Type.Length == 0 || s.Type == expected, field + ".attributes.stickiness.type", $"'{s.Type}' is not supported here; use {expected}");
            var duration = s.HasDurationSeconds ? s.DurationSeconds : 86_400;
            Require(duration is >= 1 and <= 604_800, field + ".attributes.stickiness.duration_seconds", $"{duration} is outside 1-604800");
            stickiness = TimeSpan.FromSeconds(duration);
        }

        var slow = attributes.HasSlowStartDurationSeconds ? attributes.SlowStartDurationSeconds : 0;
        Require(slow == 0 || slow is >= 30 and <= 900, field + ".attributes.slow_start_duration_seconds", $"{slow} is neither 0 nor within 30-900");
        var algorithm = attributes.Algorithm switch
        {
            V1.LoadBalancingAlgorithm.LeastOutstandingRequests => LoadBalancingAlgorithm.LeastOutstandingRequests,
            V1.LoadBalancingAlgorithm.WeightedRandom => LoadBalancingAlgorithm.WeightedRandom,
            _ => LoadBalancingAlgorithm.RoundRobin,
        };
        Require(slow == 0 || algorithm != LoadBalancingAlgorithm.LeastOutstandingRequests, field + ".attributes.slow_start_duration_seconds", "slow start does not combine with least_outstanding_requests");

        var targets = ImmutableArray.CreateBuilder<TargetModel>(state.Targets.Count);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < state.Targets.Count; i++)
        {
            var t = state.Targets[i];
            var tf = $"{field[..^".target_group".Length]}.targets[{i}]";
            var d = t.Target ?? throw new ConfigValidationException(tf + ".target", "is required");
            Require(d.Id.Length is >= 1 and <= 253 && !d.Id.Any(char.IsWhiteSpace) && !d.Id.Contains('/', StringComparison.Ordinal), tf + ".target.id", $"'{d.Id}' is not an address or host name");
            var port = d.Port == 0 ? g.Port : d.Port;
            Require(port is >= 1 and <= 65535, tf + ".target.port", $"{d.Port} is not a port (1-65535)");
            var draining = t.Registration switch
            {
                V1.TargetRegistration.Registered => false,
                V1.TargetRegistration.Draining => true,
                _ => throw new ConfigValidationException(tf + ".registration", "must be REGISTERED or DRAINING"),
            };
            var model = new TargetModel(d.Id.Trim('[', ']'), port, draining, t.DrainDeadline?.ToDateTimeOffset(), t.RegisteredAt?.ToDateTimeOffset(), t.TaskArn);
            Require(keys.Add(model.Key), tf + ".target", $"{model.Key} is listed twice");
            targets.Add(model);
        }

        return new TargetGroupModel(g.TargetGroupArn, g.TargetGroupName.Length == 0 ? g.TargetGroupArn : g.TargetGroupName, protocol, version, g.Port, health,
            TimeSpan.FromSeconds(delay), stickiness, TimeSpan.FromSeconds(slow), algorithm, targets.MoveToImmutable());
    }

    private static HealthCheckModel BuildHealthCheck(V1.HealthCheck h, TargetProtocol groupProtocol, TargetProtocolVersion version, string field)
    {
        var protocol = h.Protocol switch
        {
            V1.HealthCheckProtocol.Http => HealthCheckProtocol.Http,
            V1.HealthCheckProtocol.Https => HealthCheckProtocol.Https,
            V1.HealthCheckProtocol.Tcp => HealthCheckProtocol.Tcp,
            _ => groupProtocol switch
            {
                TargetProtocol.Https => HealthCheckProtocol.Https,
                TargetProtocol.Tcp => HealthCheckProtocol.Tcp,
                _ => HealthCheckProtocol.Http,
            },
        };
        Require(protocol != HealthCheckProtocol.Tcp || groupProtocol == TargetProtocol.Tcp, field + ".protocol", "TCP health checks are for TCP target groups");

        int? port = null;
        if (h.Port.Length > 0 && h.Port != "traffic-port")
        {
            Require(int.TryParse(h.Port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 65535, field + ".port", $"'{h.Port}' is neither traffic-port nor a port (1-65535)");
            port = p;
        }

        var grpc = version == TargetProtocolVersion.Grpc;
        var path = h.Path.Length == 0 ? (grpc ? "/AWS.ALB/healthcheck" : "/") : h.Path;
        Require(path.StartsWith('/'), field + ".path", $"'{path}' must start with '/'");
        Require(path.Length <= 1024, field + ".path", "at most 1024 characters");
        var interval = h.HasIntervalSeconds ? h.IntervalSeconds : 30;
        Require(interval is >= 5 and <= 300, field + ".interval_seconds", $"{interval} is outside 5-300");
        var timeout = h.HasTimeoutSeconds ? h.TimeoutSeconds : (groupProtocol == TargetProtocol.Tcp ? 10 : 5);
        Require(timeout is >= 2 and <= 120, field + ".timeout_seconds", $"{timeout} is outside 2-120");
        Require(timeout < interval, field + ".timeout_seconds", $"{timeout} must be less than the interval ({interval})");
        var healthy = h.HasHealthyThresholdCount ? h.HealthyThresholdCount : 5;
        Require(healthy is >= 2 and <= 10, field + ".healthy_threshold_count", $"{healthy} is outside 2-10");
        var unhealthy = h.HasUnhealthyThresholdCount ? h.UnhealthyThresholdCount : 2;
        Require(unhealthy is >= 2 and <= 10, field + ".unhealthy_threshold_count", $"{unhealthy} is outside 2-10");
        var matcher = grpc
            ? ParseCodes(h.GrpcCode.Length == 0 ? "12" : h.GrpcCode, 0, 99, field + ".grpc_code")
            : ParseCodes(h.HttpCode.Length == 0 ? "200" : h.HttpCode, 200, 499, field + ".http_code");
        return new HealthCheckModel(!h.HasEnabled || h.Enabled, protocol, port, path, TimeSpan.FromSeconds(interval), TimeSpan.FromSeconds(timeout), healthy, unhealthy, matcher);
    }

    /// <summary>ELB's matcher: comma-separated codes and from-to ranges.</summary>
    internal static CodeMatcher ParseCodes(string text, int min, int max, string field)
    {
        var ranges = ImmutableArray.CreateBuilder<(int, int)>();
        foreach (var part in text.Split(','))
        {
            var bounds = part.Split('-');
            Require(bounds.Length is 1 or 2, field, $"'{text}' is not codes like 200, 200,202 or 200-299");
            var parsed = new int[bounds.Length];
            for (var i = 0; i < bounds.Length; i++)
            {
                Require(int.TryParse(bounds[i], NumberStyles.None, CultureInfo.InvariantCulture, out parsed[i]) && parsed[i] >= min && parsed[i] <= max,
                    field, $"'{bounds[i]}' in '{text}' is not a code within {min}-{max}");
            }

            var (from, to) = (parsed[0], parsed[^1]);
            Require(from <= to, field, $"range '{part}' is backwards");
            ranges.Add((from, to));
        }

        return new CodeMatcher(text, ranges.ToImmutable());
    }

    private static CertificateModel Certificate(Dictionary<string, CertificateModel> certificates, string arn, string field) =>
        certificates.GetValueOrDefault(arn) ?? throw new ConfigValidationException(field, $"certificate '{arn}' is not in the configuration (CertificateNotFound)");

    private static void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            throw new ConfigValidationException(field, problem);
        }
    }
}

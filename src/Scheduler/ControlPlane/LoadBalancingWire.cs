using System.Collections.Immutable;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Networking;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;

namespace Berth.Scheduler.ControlPlane;

/// <summary>Load-balancing records to messages and requests to the handler's terms (the only place both meet).</summary>
internal static class LoadBalancingWire
{
    // ---- requests -> domain -----------------------------------------------------------------------------------

    public static ListenerProtocolKind? FromWire(ListenerProtocol protocol) => protocol switch
    {
        ListenerProtocol.Unspecified => null,
        ListenerProtocol.Http => ListenerProtocolKind.Http,
        ListenerProtocol.Https => ListenerProtocolKind.Https,
        ListenerProtocol.Tcp => ListenerProtocolKind.Tcp,
        _ => throw Elb.Validation("protocol", "must be HTTP, HTTPS or TCP."),
    };

    public static TargetProtocolKind? FromWire(TargetProtocol protocol) => protocol switch
    {
        TargetProtocol.Unspecified => null,
        TargetProtocol.Http => TargetProtocolKind.Http,
        TargetProtocol.Https => TargetProtocolKind.Https,
        TargetProtocol.Tcp => TargetProtocolKind.Tcp,
        _ => throw Elb.Validation("protocol", "must be HTTP, HTTPS or TCP."),
    };

    /// <summary>ELB's TargetType names (<c>instance</c>, <c>ip</c>); empty: unset. ELB's <c>lambda</c> and <c>alb</c> have no Berth counterpart.</summary>
    public static TargetTypeKind? TargetTypeFromWire(string type) => type switch
    {
        "" => null,
        "instance" => TargetTypeKind.Instance,
        "ip" => TargetTypeKind.Ip,
        _ => throw Elb.Validation("target_type", $"'{Elb.Printable(type)}' is not a valid target type: use instance or ip."),
    };

    public static string ToWire(TargetTypeKind type) => type == TargetTypeKind.Ip ? "ip" : "instance";

    public static string? FromWire(TargetProtocolVersion version) => version switch
    {
        TargetProtocolVersion.Unspecified => null,
        TargetProtocolVersion.Http1 => "HTTP1",
        TargetProtocolVersion.Http2 => "HTTP2",
        TargetProtocolVersion.Grpc => "GRPC",
        _ => throw Elb.Validation("protocol_version", "must be HTTP1, HTTP2 or GRPC."),
    };

    public static List<ActionSpec> FromWire(IEnumerable<RuleAction> actions, string field) => [.. actions.Select((a, i) => FromWire(a, $"{field}[{i}]"))];

    public static ActionSpec FromWire(RuleAction action, string field) => action.BodyCase switch
    {
        RuleAction.BodyOneofCase.Forward => new ActionSpec
        {
            Type = "forward",
            Order = action.Order == 0 ? 1 : action.Order,
            TargetGroups = [.. action.Forward.TargetGroups.Select(g => new WeightedTargetGroup(g.TargetGroupArn, g.HasWeight ? g.Weight : 1))],
            GroupStickiness = action.Forward.TargetGroupStickiness?.Enabled ?? false,
            GroupStickinessSeconds = action.Forward.TargetGroupStickiness?.DurationSeconds ?? 0,
        },
        RuleAction.BodyOneofCase.FixedResponse => new ActionSpec
        {
            Type = "fixed-response",
            Order = action.Order == 0 ? 1 : action.Order,
            FixedResponse = new FixedResponseSpec(action.FixedResponse.StatusCode, action.FixedResponse.ContentType, action.FixedResponse.MessageBody),
        },
        RuleAction.BodyOneofCase.Redirect => new ActionSpec
        {
            Type = "redirect",
            Order = action.Order == 0 ? 1 : action.Order,
            Redirect = new RedirectSpec(action.Redirect.Protocol, action.Redirect.Port, action.Redirect.Host, action.Redirect.Path, action.Redirect.Query, action.Redirect.StatusCode),
        },
        _ => throw Elb.Validation(field, "exactly one action (forward, fixed_response or redirect) must be set."),
    };

    public static List<ConditionSpec> FromWire(IEnumerable<RuleCondition> conditions, string field) => [.. conditions.Select((c, i) => c.ConditionCase switch
    {
        RuleCondition.ConditionOneofCase.HostHeader => new ConditionSpec("host-header", "", [.. c.HostHeader.Values], []),
        RuleCondition.ConditionOneofCase.PathPattern => new ConditionSpec("path-pattern", "", [.. c.PathPattern.Values], []),
        RuleCondition.ConditionOneofCase.HttpHeader => new ConditionSpec("http-header", c.HttpHeader.HttpHeaderName, [.. c.HttpHeader.Values], []),
        RuleCondition.ConditionOneofCase.QueryString => new ConditionSpec("query-string", "", [], [.. c.QueryString.Values.Select(v => new QueryPair(v.Key, v.Value))]),
        RuleCondition.ConditionOneofCase.HttpRequestMethod => new ConditionSpec("http-request-method", "", [.. c.HttpRequestMethod.Values], []),
        _ => throw Elb.Validation($"{field}[{i}]", "exactly one condition must be set."),
    })];

    public static HealthCheckPatch? FromWire(HealthCheck? check) => check is null ? null : new HealthCheckPatch
    {
        Enabled = check.HasEnabled ? check.Enabled : null,
        Protocol = check.Protocol switch
        {
            HealthCheckProtocol.Unspecified => null,
            HealthCheckProtocol.Http => "HTTP",
            HealthCheckProtocol.Https => "HTTPS",
            HealthCheckProtocol.Tcp => "TCP",
            _ => throw Elb.Validation("health_check.protocol", "must be HTTP, HTTPS or TCP."),
        },
        Port = Empty(check.Port),
        Path = Empty(check.Path),
        IntervalSeconds = check.HasIntervalSeconds ? check.IntervalSeconds : null,
        TimeoutSeconds = check.HasTimeoutSeconds ? check.TimeoutSeconds : null,
        HealthyThreshold = check.HasHealthyThresholdCount ? check.HealthyThresholdCount : null,
        UnhealthyThreshold = check.HasUnhealthyThresholdCount ? check.UnhealthyThresholdCount : null,
        HttpCode = Empty(check.HttpCode),
        GrpcCode = Empty(check.GrpcCode),
    };

    public static AttributesPatch? FromWire(TargetGroupAttributes? a) => a is null ? null : new AttributesPatch
    {
        DeregistrationDelaySeconds = a.HasDeregistrationDelaySeconds ? a.DeregistrationDelaySeconds : null,
        StickinessEnabled = a.Stickiness?.Enabled,
        StickinessType = a.Stickiness is { } s ? Empty(s.Type) : null,
        StickinessSeconds = a.Stickiness is { HasDurationSeconds: true } d ? d.DurationSeconds : null,
        SlowStartSeconds = a.HasSlowStartDurationSeconds ? a.SlowStartDurationSeconds : null,
        Algorithm = a.Algorithm switch
        {
            LoadBalancingAlgorithm.Unspecified => null,
            LoadBalancingAlgorithm.RoundRobin => "round_robin",
            LoadBalancingAlgorithm.LeastOutstandingRequests => "least_outstanding_requests",
            LoadBalancingAlgorithm.WeightedRandom => "weighted_random",
            _ => throw Elb.Validation("attributes.algorithm", "must be round_robin, least_outstanding_requests or weighted_random."),
        },
    };

    private static string? Empty(string value) => value.Length == 0 ? null : value;

    // ---- domain -> messages -----------------------------------------------------------------------------------

    public static LoadBalancer ToWire(LoadBalancerRecord lb, LoadBalancingState state, DateTimeOffset now)
    {
        var replicas = state.Replicas.GetValueOrDefault(lb.Arn);
        var addresses = replicas?.Values.Where(r => r.Connected).SelectMany(r => r.Addresses).Distinct().Order(StringComparer.Ordinal).ToList() ?? [];
        var anyApplied = replicas?.Values.Any(r => r.AppliedVersion > 0) ?? false;
        var recent = replicas?.Values.Any(r => r.Connected || now - r.LastHeard < LoadBalancingHandler.ReplicaMemory) ?? false;
        return new LoadBalancer
        {
            LoadBalancerArn = lb.Arn,
            LoadBalancerName = lb.Name,
            Type = lb.Type == BalancerType.Network ? LoadBalancerType.Network : LoadBalancerType.Application,
            Scheme = lb.Scheme == "internal" ? LoadBalancerScheme.Internal : LoadBalancerScheme.InternetFacing,
            Cluster = lb.Cluster,
            State = !anyApplied ? "provisioning" : recent ? "active" : "active_impaired",
            DnsName = string.Join(",", addresses),
            CreatedTime = Timestamp.FromDateTimeOffset(lb.CreatedAt),
            IdleTimeoutSeconds = lb.IdleTimeoutSeconds,
        };
    }

    /// <summary>The load balancer as the balancer's configuration carries it: no replica-derived fields, so they do not churn deltas.</summary>
    public static LoadBalancer ToConfigWire(LoadBalancerRecord lb) => new()
    {
        LoadBalancerArn = lb.Arn,
        LoadBalancerName = lb.Name,
        Type = lb.Type == BalancerType.Network ? LoadBalancerType.Network : LoadBalancerType.Application,
        Scheme = lb.Scheme == "internal" ? LoadBalancerScheme.Internal : LoadBalancerScheme.InternetFacing,
        Cluster = lb.Cluster,
        State = "active",
        CreatedTime = Timestamp.FromDateTimeOffset(lb.CreatedAt),
        IdleTimeoutSeconds = lb.IdleTimeoutSeconds,
    };

    public static Listener ToWire(ListenerRecord l)
    {
        var listener = new Listener
        {
            ListenerArn = l.Arn,
            LoadBalancerArn = l.LoadBalancerArn,
            Port = l.Port,
            Protocol = l.Protocol switch
            {
                ListenerProtocolKind.Https => ListenerProtocol.Https,
                ListenerProtocolKind.Tcp => ListenerProtocol.Tcp,
                _ => ListenerProtocol.Http,
            },
            SslPolicy = l.SslPolicy,
            AlpnPolicy = l.AlpnPolicy,
        };
        listener.Certificates.AddRange(l.Certificates.Select(c => new CertificateRef { CertificateArn = c }));
        listener.SniCertificates.AddRange(l.SniCertificates.Select(c => new CertificateRef { CertificateArn = c }));
        listener.DefaultActions.Add(ToWire(l.DefaultAction));
        return listener;
    }

    public static Rule ToWire(RuleRecord? r, ListenerRecord listener)
    {
        if (r is null)
        {
            var defaultRule = new Rule { RuleArn = listener.Arn + "/default", ListenerArn = listener.Arn, IsDefault = true };
            defaultRule.Actions.Add(ToWire(listener.DefaultAction));
            return defaultRule;
        }

        var rule = new Rule { RuleArn = r.Arn, ListenerArn = r.ListenerArn, Priority = r.Priority };
        rule.Conditions.AddRange(r.Conditions.Select(ToWire));
        rule.Actions.Add(ToWire(r.Action));
        return rule;
    }

    public static RuleCondition ToWire(ConditionSpec c) => c.Field switch
    {
        "host-header" => new RuleCondition { HostHeader = new HostHeaderCondition { Values = { c.Values } } },
        "path-pattern" => new RuleCondition { PathPattern = new PathPatternCondition { Values = { c.Values } } },
        "http-header" => new RuleCondition { HttpHeader = new HttpHeaderCondition { HttpHeaderName = c.HeaderName, Values = { c.Values } } },
        "query-string" => new RuleCondition { QueryString = new QueryStringCondition { Values = { c.Pairs.Select(p => new QueryStringKeyValue { Key = p.Key, Value = p.Value }) } } },
        _ => new RuleCondition { HttpRequestMethod = new HttpRequestMethodCondition { Values = { c.Values } } },
    };

    public static RuleAction ToWire(ActionSpec a)
    {
        var action = new RuleAction { Order = a.Order };
        switch (a.Type)
        {
            case "forward":
                action.Forward = new ForwardActionConfig();
                action.Forward.TargetGroups.AddRange(a.TargetGroups.Select(g => new TargetGroupTuple { TargetGroupArn = g.TargetGroupArn, Weight = g.Weight }));
                if (a.GroupStickiness)
                {
                    action.Forward.TargetGroupStickiness = new TargetGroupStickinessConfig { Enabled = true, DurationSeconds = a.GroupStickinessSeconds };
                }

                break;
            case "fixed-response":
                var f = a.FixedResponse!;
                action.FixedResponse = new FixedResponseActionConfig { StatusCode = f.StatusCode, ContentType = f.ContentType, MessageBody = f.MessageBody };
                break;
            default:
                var r = a.Redirect!;
                action.Redirect = new RedirectActionConfig { Protocol = r.Protocol, Port = r.Port, Host = r.Host, Path = r.Path, Query = r.Query, StatusCode = r.StatusCode };
                break;
        }

        return action;
    }

    public static TargetGroup ToWire(TargetGroupRecord g, LoadBalancingState state)
    {
        var group = ToConfigWire(g);
        group.LoadBalancerArns.AddRange(state.LoadBalancersOf(g.Arn));
        return group;
    }

    /// <summary>A target group without the load balancers using it (the balancer's configuration: they do not churn deltas).</summary>
    public static TargetGroup ToConfigWire(TargetGroupRecord g)
    {
        var check = g.HealthCheck;
        return new TargetGroup
        {
            TargetGroupArn = g.Arn,
            TargetGroupName = g.Name,
            Protocol = g.Protocol switch
            {
                TargetProtocolKind.Https => TargetProtocol.Https,
                TargetProtocolKind.Tcp => TargetProtocol.Tcp,
                _ => TargetProtocol.Http,
            },
            ProtocolVersion = g.ProtocolVersion switch
            {
                "HTTP2" => TargetProtocolVersion.Http2,
                "GRPC" => TargetProtocolVersion.Grpc,
                "" => TargetProtocolVersion.Unspecified,
                _ => TargetProtocolVersion.Http1,
            },
            Port = g.Port,
            HealthCheck = new HealthCheck
            {
                Enabled = check.Enabled,
                Protocol = check.Protocol switch
                {
                    "HTTPS" => HealthCheckProtocol.Https,
                    "TCP" => HealthCheckProtocol.Tcp,
                    _ => HealthCheckProtocol.Http,
                },
                Port = check.Port,
                Path = check.Path,
                IntervalSeconds = check.IntervalSeconds,
                TimeoutSeconds = check.TimeoutSeconds,
                HealthyThresholdCount = check.HealthyThreshold,
                UnhealthyThresholdCount = check.UnhealthyThreshold,
                HttpCode = check.HttpCode,
                GrpcCode = g.ProtocolVersion == "GRPC" ? check.GrpcCode : "",
            },
            Attributes = ToWire(g.Attributes),
            TargetType = ToWire(g.TargetType),
            Cluster = g.Cluster,
        };
    }

    public static TargetGroupAttributes ToWire(TargetGroupAttributesSpec a) => new()
    {
        DeregistrationDelaySeconds = a.DeregistrationDelaySeconds,
        Stickiness = new Stickiness { Enabled = a.StickinessEnabled, Type = a.StickinessType, DurationSeconds = a.StickinessSeconds },
        SlowStartDurationSeconds = a.SlowStartSeconds,
        Algorithm = a.Algorithm switch
        {
            "least_outstanding_requests" => LoadBalancingAlgorithm.LeastOutstandingRequests,
            "weighted_random" => LoadBalancingAlgorithm.WeightedRandom,
            _ => LoadBalancingAlgorithm.RoundRobin,
        },
    };

    public static TargetState ToWire(TargetRecord t)
    {
        var state = new TargetState
        {
            Target = new TargetDescription { Id = t.Id, Port = t.Port, AvailabilityZone = t.AvailabilityZone },
            Registration = t.Draining ? TargetRegistration.Draining : TargetRegistration.Registered,
            RegisteredAt = Timestamp.FromDateTimeOffset(t.RegisteredAt),
            TaskArn = t.TaskId.Length == 0 ? "" : t.TaskId,
        };
        if (t.DrainDeadline is { } deadline && t.Draining)
        {
            state.DrainDeadline = Timestamp.FromDateTimeOffset(deadline);
        }

        return state;
    }

    public static TargetHealthDescription ToWire(TargetRecord t, string healthPort, TargetObservation health) => new()
    {
        Target = new TargetDescription { Id = t.Id, Port = t.Port, AvailabilityZone = t.AvailabilityZone },
        HealthCheckPort = healthPort,
        TargetHealth = new TargetHealth
        {
            State = health.State switch
            {
                "initial" => TargetHealthState.Initial,
                "healthy" => TargetHealthState.Healthy,
                "unhealthy" => TargetHealthState.Unhealthy,
                "unused" => TargetHealthState.Unused,
                "draining" => TargetHealthState.Draining,
                "unavailable" => TargetHealthState.Unavailable,
                _ => TargetHealthState.Unspecified,
            },
            Reason = health.Reason,
            Description = health.Description,
        },
    };

    public static string FromWire(TargetHealthState state) => state switch
    {
        TargetHealthState.Initial => "initial",
        TargetHealthState.Healthy => "healthy",
        TargetHealthState.Unhealthy => "unhealthy",
        TargetHealthState.Unused => "unused",
        TargetHealthState.Draining => "draining",
        TargetHealthState.Unavailable => "unavailable",
        _ => "initial",
    };

    /// <summary>An imported certificate as DescribeCertificate shows it: never its private key.</summary>
    public static CertificateDetail ToWire(CertificateRecord c, IEnumerable<string> usedBy, DateTimeOffset now) => new()
    {
        CertificateArn = c.Arn,
        DomainName = c.DomainName,
        SubjectAlternativeNames = { c.SubjectAlternativeNames },
        Status = CertificateHandler.StatusOf(c, now),
        Type = "IMPORTED",
        Issuer = c.Issuer,
        Subject = c.Subject,
        Serial = c.Serial,
        NotBefore = Timestamp.FromDateTimeOffset(c.NotBefore),
        NotAfter = Timestamp.FromDateTimeOffset(c.NotAfter),
        KeyAlgorithm = c.KeyAlgorithm,
        SignatureAlgorithm = c.SignatureAlgorithm,
        InUseBy = { usedBy },
        CreatedAt = Timestamp.FromDateTimeOffset(c.CreatedAt),
        ImportedAt = Timestamp.FromDateTimeOffset(c.ImportedAt),
    };

    /// <summary>
    /// A load balancer's whole configuration as its balancers get it: the load balancer, its listeners, its rules, the
    /// target groups they forward to with their targets, and the certificates (with their keys) its HTTPS listeners
    /// use. Runs under the cluster's lock; takes the certificate catalog's lock inside it (the allowed order).
    /// </summary>
    public static BalancerConfig Config(LoadBalancingState state, string loadBalancerArn, CertificateCatalog certificates)
    {
        var config = new BalancerConfig();
        if (!state.LoadBalancers.TryGetValue(loadBalancerArn, out var lb))
        {
            return config;
        }

        config.LoadBalancer = ToConfigWire(lb);
        var listeners = state.Listeners.Values.Where(l => l.LoadBalancerArn == lb.Arn).OrderBy(l => l.Port).ToList();
        config.Listeners.AddRange(listeners.Select(ToWire));
        var listenerArns = listeners.Select(l => l.Arn).ToHashSet(StringComparer.Ordinal);
        config.Rules.AddRange(state.Rules.Values.Where(r => listenerArns.Contains(r.ListenerArn)).OrderBy(r => r.Arn, StringComparer.Ordinal)
            .Select(r => ToWire(r, state.Listeners[r.ListenerArn])));
        foreach (var arn in state.GroupsOf(lb.Arn).Order(StringComparer.Ordinal))
        {
            config.TargetGroups.Add(ConfigEntry(state.TargetGroups[arn]));
        }

        var used = listeners.SelectMany(l => l.AllCertificates()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        lock (certificates.Gate)
        {
            foreach (var arn in used)
            {
                // Present for every listener that uses it: a listener's commit claims its certificates, and a claimed
                // certificate cannot be deleted.
                if (certificates.Get(arn) is { } c)
                {
                    config.Certificates.Add(new CertificateMaterial { CertificateArn = c.Arn, CertificatePem = c.CertificatePem, PrivateKeyPem = c.PrivateKeyPem });
                }
            }
        }

        return config;
    }

    /// <summary>
    /// The routes to the cluster's task subnets a balancer of <paramref name="loadBalancerArn"/> needs: one per live host
    /// when any target group it forwards to has target type <c>ip</c>, none otherwise. Runs under the cluster's lock.
    /// </summary>
    public static List<TaskRoute> TaskRoutes(ClusterState cluster, string loadBalancerArn)
    {
        var state = cluster.LoadBalancing;
        var servesIp = state.GroupsOf(loadBalancerArn).Any(arn => state.TargetGroups.TryGetValue(arn, out var group) && group.TargetType == TargetTypeKind.Ip);
        return BalancerRoutes.For(cluster, servesIp).ConvertAll(r => new TaskRoute { Subnet = r.Subnet, Via = r.Via, ContainerInstanceId = r.InstanceId });
    }

    /// <summary>A target group with its targets as a balancer's configuration holds it. Runs under the cluster's lock.</summary>
    public static TargetGroupState ConfigEntry(TargetGroupRecord group)
    {
        var entry = new TargetGroupState { TargetGroup = ToConfigWire(group) };
        entry.Targets.AddRange(group.Targets.Values.OrderBy(t => t.Key, StringComparer.Ordinal).Select(ToWire));
        return entry;
    }

    /// <summary>The changes from one configuration to the next (empty when nothing a balancer sees changed).</summary>
    public static List<ConfigChange> Diff(BalancerConfig before, BalancerConfig after)
    {
        var changes = new List<ConfigChange>();
        if (!Equals(before.LoadBalancer, after.LoadBalancer) && after.LoadBalancer is not null)
        {
            changes.Add(new ConfigChange { LoadBalancer = after.LoadBalancer });
        }

        // Routes to task subnets first (a target in a new host's subnet is probed at once), their removals last.
        var oldRoutes = before.TaskRoutes.ToDictionary(r => r.Subnet, StringComparer.Ordinal);
        foreach (var route in after.TaskRoutes)
        {
            if (!oldRoutes.TryGetValue(route.Subnet, out var was) || !Equals(was, route))
            {
                changes.Add(new ConfigChange { TaskRouteUpserted = route });
            }
        }

        // Certificates first (a listener may use a new one; a balancer validates the whole result anyway), their
        // removals last.
        var oldCertificates = before.Certificates.ToDictionary(c => c.CertificateArn, StringComparer.Ordinal);
        foreach (var certificate in after.Certificates)
        {
            if (!oldCertificates.TryGetValue(certificate.CertificateArn, out var was) || !Equals(was, certificate))
            {
                changes.Add(new ConfigChange { CertificateUpserted = certificate });
            }
        }

        // Groups first (a listener or rule may forward to a new group), removals of listeners and rules before
        // the groups they used go.
        var oldGroups = before.TargetGroups.ToDictionary(g => g.TargetGroup.TargetGroupArn, StringComparer.Ordinal);
        var newGroups = after.TargetGroups.ToDictionary(g => g.TargetGroup.TargetGroupArn, StringComparer.Ordinal);
        foreach (var (arn, group) in newGroups)
        {
            if (!oldGroups.TryGetValue(arn, out var old))
            {
                changes.Add(new ConfigChange { TargetGroupUpserted = group });
                continue;
            }

            if (!Equals(old.TargetGroup, group.TargetGroup))
            {
                changes.Add(new ConfigChange { TargetGroupUpserted = new TargetGroupState { TargetGroup = group.TargetGroup, Targets = { group.Targets } } });
            }

            var oldTargets = old.Targets.ToDictionary(Key, StringComparer.Ordinal);
            var newTargets = group.Targets.ToDictionary(Key, StringComparer.Ordinal);
            foreach (var (key, target) in newTargets)
            {
                if (!oldTargets.TryGetValue(key, out var was) || !Equals(was, target))
                {
                    changes.Add(new ConfigChange { TargetUpserted = new TargetChange { TargetGroupArn = arn, Target = target } });
                }
            }

            foreach (var (key, target) in oldTargets)
            {
                if (!newTargets.ContainsKey(key))
                {
                    changes.Add(new ConfigChange { TargetRemoved = new TargetChange { TargetGroupArn = arn, Target = target } });
                }
            }
        }

        var oldListeners = before.Listeners.ToDictionary(l => l.ListenerArn, StringComparer.Ordinal);
        var newListeners = after.Listeners.ToDictionary(l => l.ListenerArn, StringComparer.Ordinal);
        var oldRules = before.Rules.ToDictionary(r => r.RuleArn, StringComparer.Ordinal);
        var newRules = after.Rules.ToDictionary(r => r.RuleArn, StringComparer.Ordinal);
        foreach (var arn in oldRules.Keys.Where(k => !newRules.ContainsKey(k)))
        {
            changes.Add(new ConfigChange { RuleRemoved = arn });
        }

        foreach (var arn in oldListeners.Keys.Where(k => !newListeners.ContainsKey(k)))
        {
            changes.Add(new ConfigChange { ListenerRemoved = arn });
        }

        foreach (var (arn, listener) in newListeners)
        {
            if (!oldListeners.TryGetValue(arn, out var old) || !Equals(old, listener))
            {
                changes.Add(new ConfigChange { ListenerUpserted = listener });
            }
        }

        foreach (var (arn, rule) in newRules)
        {
            if (!oldRules.TryGetValue(arn, out var old) || !Equals(old, rule))
            {
                changes.Add(new ConfigChange { RuleUpserted = rule });
            }
        }

        foreach (var arn in oldGroups.Keys.Where(k => !newGroups.ContainsKey(k)))
        {
            changes.Add(new ConfigChange { TargetGroupRemoved = arn });
        }

        var newCertificates = after.Certificates.Select(c => c.CertificateArn).ToHashSet(StringComparer.Ordinal);
        foreach (var arn in oldCertificates.Keys.Where(k => !newCertificates.Contains(k)))
        {
            changes.Add(new ConfigChange { CertificateRemoved = arn });
        }

        var newRoutes = after.TaskRoutes.Select(r => r.Subnet).ToHashSet(StringComparer.Ordinal);
        foreach (var subnet in oldRoutes.Keys.Where(s => !newRoutes.Contains(s)))
        {
            changes.Add(new ConfigChange { TaskRouteRemoved = subnet });
        }

        return changes;
    }

    private static string Key(TargetState t) => TargetRecord.KeyOf(t.Target.Id, t.Target.Port);

    public static ImmutableArray<string> Certificates(IEnumerable<CertificateRef> refs) => [.. refs.Select(r => r.CertificateArn)];
}

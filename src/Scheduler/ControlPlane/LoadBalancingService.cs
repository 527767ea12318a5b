using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.ControlPlane;

/// <summary>The LoadBalancing API (ELBv2's CRUD) on <see cref="LoadBalancingHandler"/>.</summary>
internal sealed class LoadBalancingService(LoadBalancingHandler handler, CertificateHandler certificates, StateKernel kernel) : V1.LoadBalancing.LoadBalancingBase
{
    public override async Task<CreateLoadBalancerResponse> CreateLoadBalancer(CreateLoadBalancerRequest request, ServerCallContext context)
    {
        var type = request.Type switch
        {
            LoadBalancerType.Unspecified or LoadBalancerType.Application => BalancerType.Application,
            LoadBalancerType.Network => BalancerType.Network,
            _ => throw Elb.Validation("type", "must be application or network."),
        };
        var scheme = request.Scheme switch
        {
            LoadBalancerScheme.Internal => "internal",
            LoadBalancerScheme.Unspecified or LoadBalancerScheme.InternetFacing => "internet-facing",
            _ => throw Elb.Validation("scheme", "must be internet-facing or internal."),
        };
        return new()
        {
            LoadBalancer = await handler.CreateLoadBalancerAsync(request.Name, type, scheme, request.Cluster, request.HasIdleTimeoutSeconds ? request.IdleTimeoutSeconds : null,
                (lb, state) => LoadBalancingWire.ToWire(lb, state, kernel.Now)),
        };
    }

    public override Task<DescribeLoadBalancersResponse> DescribeLoadBalancers(DescribeLoadBalancersRequest request, ServerCallContext context) =>
        Task.FromResult(new DescribeLoadBalancersResponse
        {
            LoadBalancers = { handler.DescribeLoadBalancers([.. request.LoadBalancerArns], [.. request.Names], (lb, state) => LoadBalancingWire.ToWire(lb, state, kernel.Now)) },
        });

    public override async Task<DeleteLoadBalancerResponse> DeleteLoadBalancer(DeleteLoadBalancerRequest request, ServerCallContext context)
    {
        Required("load_balancer_arn", request.LoadBalancerArn);
        await handler.DeleteLoadBalancerAsync(request.LoadBalancerArn);
        return new();
    }

    public override async Task<CreateListenerResponse> CreateListener(CreateListenerRequest request, ServerCallContext context)
    {
        Required("load_balancer_arn", request.LoadBalancerArn);
        return new()
        {
            Listener = await handler.CreateListenerAsync(new ListenerCommand
            {
                LoadBalancer = request.LoadBalancerArn,
                Port = request.Port,
                Protocol = LoadBalancingWire.FromWire(request.Protocol),
                Certificates = LoadBalancingWire.Certificates(request.Certificates),
                SslPolicy = request.SslPolicy,
                AlpnPolicy = request.AlpnPolicy,
                DefaultActions = LoadBalancingWire.FromWire(request.DefaultActions, "default_actions"),
            }, LoadBalancingWire.ToWire),
        };
    }

    public override Task<DescribeListenersResponse> DescribeListeners(DescribeListenersRequest request, ServerCallContext context) =>
        Task.FromResult(new DescribeListenersResponse { Listeners = { handler.DescribeListeners(request.LoadBalancerArn, [.. request.ListenerArns], LoadBalancingWire.ToWire) } });

    public override async Task<ModifyListenerResponse> ModifyListener(ModifyListenerRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        return new()
        {
            Listener = await handler.ModifyListenerAsync(request.ListenerArn, new ListenerCommand
            {
                Port = request.HasPort ? request.Port : null,
                Protocol = LoadBalancingWire.FromWire(request.Protocol),
                Certificates = LoadBalancingWire.Certificates(request.Certificates),
                SslPolicy = request.SslPolicy,
                AlpnPolicy = request.AlpnPolicy,
                DefaultActions = LoadBalancingWire.FromWire(request.DefaultActions, "default_actions"),
            }, LoadBalancingWire.ToWire),
        };
    }

    public override async Task<DeleteListenerResponse> DeleteListener(DeleteListenerRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        await handler.DeleteListenerAsync(request.ListenerArn);
        return new();
    }

    public override async Task<CreateRuleResponse> CreateRule(CreateRuleRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        return new()
        {
            Rule = await handler.CreateRuleAsync(request.ListenerArn, request.Priority, LoadBalancingWire.FromWire(request.Conditions, "conditions"),
                LoadBalancingWire.FromWire(request.Actions, "actions"), RuleView),
        };
    }

    public override Task<DescribeRulesResponse> DescribeRules(DescribeRulesRequest request, ServerCallContext context) =>
        Task.FromResult(new DescribeRulesResponse { Rules = { handler.DescribeRules(request.ListenerArn, [.. request.RuleArns], LoadBalancingWire.ToWire) } });

    public override async Task<ModifyRuleResponse> ModifyRule(ModifyRuleRequest request, ServerCallContext context)
    {
        Required("rule_arn", request.RuleArn);
        return new()
        {
            Rule = await handler.ModifyRuleAsync(request.RuleArn, LoadBalancingWire.FromWire(request.Conditions, "conditions"), LoadBalancingWire.FromWire(request.Actions, "actions"), RuleView),
        };
    }

    public override async Task<SetRulePrioritiesResponse> SetRulePriorities(SetRulePrioritiesRequest request, ServerCallContext context) =>
        new() { Rules = { await handler.SetRulePrioritiesAsync([.. request.RulePriorities.Select(p => (p.RuleArn, p.Priority))], RuleView) } };

    public override async Task<DeleteRuleResponse> DeleteRule(DeleteRuleRequest request, ServerCallContext context)
    {
        Required("rule_arn", request.RuleArn);
        await handler.DeleteRuleAsync(request.RuleArn);
        return new();
    }

    public override async Task<CreateTargetGroupResponse> CreateTargetGroup(CreateTargetGroupRequest request, ServerCallContext context) => new()
    {
        TargetGroup = await handler.CreateTargetGroupAsync(new TargetGroupCommand
        {
            Name = request.Name,
            Protocol = LoadBalancingWire.FromWire(request.Protocol),
            ProtocolVersion = LoadBalancingWire.FromWire(request.ProtocolVersion),
            Port = request.Port,
            HealthCheck = LoadBalancingWire.FromWire(request.HealthCheck),
            Attributes = LoadBalancingWire.FromWire(request.Attributes),
            Cluster = request.Cluster,
            TargetType = LoadBalancingWire.TargetTypeFromWire(request.TargetType),
        }, LoadBalancingWire.ToWire),
    };

    public override Task<DescribeTargetGroupsResponse> DescribeTargetGroups(DescribeTargetGroupsRequest request, ServerCallContext context) =>
        Task.FromResult(new DescribeTargetGroupsResponse
        {
            TargetGroups = { handler.DescribeTargetGroups(request.LoadBalancerArn, [.. request.TargetGroupArns], [.. request.Names], LoadBalancingWire.ToWire) },
        });

    public override async Task<ModifyTargetGroupResponse> ModifyTargetGroup(ModifyTargetGroupRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        return new() { TargetGroup = await handler.ModifyTargetGroupAsync(request.TargetGroupArn, LoadBalancingWire.FromWire(request.HealthCheck), LoadBalancingWire.ToWire) };
    }

    public override async Task<ModifyTargetGroupAttributesResponse> ModifyTargetGroupAttributes(ModifyTargetGroupAttributesRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        return new() { Attributes = await handler.ModifyTargetGroupAttributesAsync(request.TargetGroupArn, LoadBalancingWire.FromWire(request.Attributes), LoadBalancingWire.ToWire) };
    }

    public override async Task<DeleteTargetGroupResponse> DeleteTargetGroup(DeleteTargetGroupRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        await handler.DeleteTargetGroupAsync(request.TargetGroupArn);
        return new();
    }

    public override async Task<RegisterTargetsResponse> RegisterTargets(RegisterTargetsRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        await handler.RegisterTargetsAsync(request.TargetGroupArn, [.. request.Targets.Select(t => (t.Id, t.Port, t.AvailabilityZone))]);
        return new();
    }

    public override async Task<DeregisterTargetsResponse> DeregisterTargets(DeregisterTargetsRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        await handler.DeregisterTargetsAsync(request.TargetGroupArn, [.. request.Targets.Select(t => (t.Id, t.Port, t.AvailabilityZone))]);
        return new();
    }

    public override Task<DescribeTargetHealthResponse> DescribeTargetHealth(DescribeTargetHealthRequest request, ServerCallContext context)
    {
        Required("target_group_arn", request.TargetGroupArn);
        return Task.FromResult(new DescribeTargetHealthResponse
        {
            TargetHealthDescriptions = { handler.DescribeTargetHealth(request.TargetGroupArn, [.. request.Targets.Select(t => (t.Id, t.Port))], LoadBalancingWire.ToWire) },
        });
    }

    public override async Task<AddListenerCertificatesResponse> AddListenerCertificates(AddListenerCertificatesRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        var added = await handler.AddListenerCertificatesAsync(request.ListenerArn, LoadBalancingWire.Certificates(request.Certificates));
        return new() { Certificates = { added.Select(arn => new CertificateRef { CertificateArn = arn }) } };
    }

    public override async Task<RemoveListenerCertificatesResponse> RemoveListenerCertificates(RemoveListenerCertificatesRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        await handler.RemoveListenerCertificatesAsync(request.ListenerArn, LoadBalancingWire.Certificates(request.Certificates));
        return new();
    }

    public override Task<DescribeListenerCertificatesResponse> DescribeListenerCertificates(DescribeListenerCertificatesRequest request, ServerCallContext context)
    {
        Required("listener_arn", request.ListenerArn);
        return Task.FromResult(new DescribeListenerCertificatesResponse
        {
            Certificates = { handler.DescribeListenerCertificates(request.ListenerArn).Select(c => new CertificateRef { CertificateArn = c.Arn, IsDefault = c.IsDefault }) },
        });
    }

    public override async Task<ImportCertificateResponse> ImportCertificate(ImportCertificateRequest request, ServerCallContext context) => new()
    {
        CertificateArn = await certificates.ImportAsync(request.CertificatePem, request.PrivateKeyPem, request.CertificateChainPem, request.CertificateArn),
    };

    public override Task<DescribeCertificateResponse> DescribeCertificate(DescribeCertificateRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.CertificateArn))
        {
            throw Acm.Validation("certificate_arn", "is required.");
        }

        return Task.FromResult(new DescribeCertificateResponse { Certificate = certificates.Describe(request.CertificateArn, (c, users) => LoadBalancingWire.ToWire(c, users, kernel.Now)) });
    }

    public override Task<ListCertificatesResponse> ListCertificates(ListCertificatesRequest request, ServerCallContext context) =>
        Task.FromResult(new ListCertificatesResponse
        {
            Certificates = { certificates.List([.. request.CertificateStatuses], (c, users) => LoadBalancingWire.ToWire(c, users, kernel.Now)) },
        });

    public override async Task<DeleteCertificateResponse> DeleteCertificate(DeleteCertificateRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.CertificateArn))
        {
            throw Acm.Validation("certificate_arn", "is required.");
        }

        await certificates.DeleteAsync(request.CertificateArn);
        return new();
    }

    public override async Task<CreateBalancerCredentialResponse> CreateBalancerCredential(CreateBalancerCredentialRequest request, ServerCallContext context)
    {
        Required("load_balancer_arn", request.LoadBalancerArn);
        return new() { Credential = await handler.CreateCredentialAsync(request.LoadBalancerArn) };
    }

    private static Rule RuleView(RuleRecord rule) => new Func<Rule>(() =>
    {
        var wire = new Rule { RuleArn = rule.Arn, ListenerArn = rule.ListenerArn, Priority = rule.Priority };
        wire.Conditions.AddRange(rule.Conditions.Select(LoadBalancingWire.ToWire));
        wire.Actions.Add(LoadBalancingWire.ToWire(rule.Action));
        return wire;
    })();

    private static void Required(string field, string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Elb.Validation(field, "is required.");
        }
    }
}

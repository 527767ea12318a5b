using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.LoadBalancers;

/// <summary>
/// <c>berth lb create|list|describe|delete|credential</c>, <c>berth lb listener
/// create|list|modify|delete|certificates|add-certificates|remove-certificates</c> and <c>berth lb rule
/// create|list|delete</c> (ELBv2's load balancers, listeners with their SNI certificates, and rules).
/// </summary>
internal static class LoadBalancerCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("lb", "Load balancers, their listeners and rules (ELB-style; a balancer process serves each)");
        command.Add(Create(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Delete(actions));
        command.Add(Credential(actions));
        command.Add(Listener(actions));
        command.Add(Rule(actions));
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The load balancer's name or ARN" };

    private static Command Create(CommandActions actions)
    {
        var name = new Argument<string>("name") { Description = "1-32 letters, digits and hyphens" };
        var network = new Option<bool>("--network") { Description = "A network load balancer (TCP listeners) instead of an application one (HTTP)" };
        var idle = new Option<int?>("--idle-timeout") { Description = "Idle timeout of client connections in seconds (1-4000; 60)" };
        var create = new Command("create", "Create a load balancer in the cluster") { name, network, idle };
        actions.Set(create, async (parse, context, ct) =>
        {
            var request = new CreateLoadBalancerRequest
            {
                Name = parse.GetValue(name)!,
                Type = parse.GetValue(network) ? LoadBalancerType.Network : LoadBalancerType.Application,
                Cluster = context.Cluster,
            };
            if (parse.GetValue(idle) is { } seconds)
            {
                request.IdleTimeoutSeconds = seconds;
            }

            var lb = (await context.Scheduler.LoadBalancing.CreateLoadBalancerAsync(request, cancellationToken: ct)).LoadBalancer;
            Print(context.Output, [lb]);
            return ExitCodes.Success;
        });
        return create;
    }

    private static Command List(CommandActions actions)
    {
        var list = new Command("list", "List load balancers");
        actions.Set(list, async (_, context, ct) =>
        {
            Print(context.Output, (await context.Scheduler.LoadBalancing.DescribeLoadBalancersAsync(new DescribeLoadBalancersRequest(), cancellationToken: ct)).LoadBalancers);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var name = NameArgument();
        var describe = new Command("describe", "Show a load balancer with its listeners and rules") { name };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var lbs = context.Scheduler.LoadBalancing;
            var lb = (await lbs.DescribeLoadBalancersAsync(ByName(parse.GetValue(name)!), cancellationToken: ct)).LoadBalancers[0];
            var listeners = (await lbs.DescribeListenersAsync(new DescribeListenersRequest { LoadBalancerArn = lb.LoadBalancerArn }, cancellationToken: ct)).Listeners;
            if (context.Output.IsJson)
            {
                var node = new System.Text.Json.Nodes.JsonObject
                {
                    ["loadBalancer"] = CliOutput.ToNode(lb),
                    ["listeners"] = new System.Text.Json.Nodes.JsonArray([.. listeners.Select(CliOutput.ToNode)]),
                };
                context.Output.Json(node);
                return ExitCodes.Success;
            }

            context.Output.Fields(
            [
                ("Name", lb.LoadBalancerName),
                ("ARN", lb.LoadBalancerArn),
                ("Type", lb.Type == LoadBalancerType.Network ? "network" : "application"),
                ("Cluster", lb.Cluster),
                ("State", lb.State),
                ("Addresses", lb.DnsName.Length == 0 ? "-" : lb.DnsName),
                ("Idle timeout", $"{lb.IdleTimeoutSeconds} s"),
                ("Created", Display.Time(lb.CreatedTime)),
            ]);
            foreach (var listener in listeners)
            {
                context.Output.Say("");
                context.Output.Say($"Listener {listener.Protocol.ToString().ToUpperInvariant()}:{listener.Port}  {listener.ListenerArn}");
                var rules = (await lbs.DescribeRulesAsync(new DescribeRulesRequest { ListenerArn = listener.ListenerArn }, cancellationToken: ct)).Rules;
                PrintRules(context.Output, rules);
            }

            return ExitCodes.Success;
        });
        return describe;
    }

    private static Command Delete(CommandActions actions)
    {
        var name = NameArgument();
        var delete = new Command("delete", "Delete a load balancer with its listeners and rules (target groups stay)") { name };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var lb = (await context.Scheduler.LoadBalancing.DescribeLoadBalancersAsync(ByName(parse.GetValue(name)!), cancellationToken: ct)).LoadBalancers[0];
            await context.Scheduler.LoadBalancing.DeleteLoadBalancerAsync(new DeleteLoadBalancerRequest { LoadBalancerArn = lb.LoadBalancerArn }, cancellationToken: ct);
            context.Output.Say($"Deleted load balancer {lb.LoadBalancerName}.");
            return ExitCodes.Success;
        });
        return delete;
    }

    private static Command Credential(CommandActions actions)
    {
        var name = NameArgument();
        var file = new Option<FileInfo?>("--output-file", "-o") { Description = "Write the credential to this file (mode 0600) instead of printing it" };
        var credential = new Command("credential", "Make a credential for the balancer processes of a load balancer (watch and report only)") { name, file };
        actions.Set(credential, async (parse, context, ct) =>
        {
            var secret = (await context.Scheduler.LoadBalancing.CreateBalancerCredentialAsync(
                new CreateBalancerCredentialRequest { LoadBalancerArn = parse.GetValue(name)! }, cancellationToken: ct)).Credential;
            if (parse.GetValue(file) is { } path)
            {
                Berth.Core.IO.OwnerOnlyFile.WriteAtomic(path.FullName, secret + "\n");
                context.Output.Say($"Wrote the balancer credential to {path.FullName}; start the balancer with --token-file {path.FullName}.");
            }
            else
            {
                context.Output.Out.WriteLine(secret);
            }

            return ExitCodes.Success;
        });
        return credential;
    }

    // ---- listeners ---------------------------------------------------------------------------------------------

    private static Command Listener(CommandActions actions)
    {
        var command = new Command("listener", "Listeners of a load balancer");

        var lb = new Option<string>("--lb") { Description = "The load balancer (name or ARN)", Required = true };
        var port = new Option<int>("--port") { Description = "The port clients connect to", Required = true };
        var protocol = new Option<string>("--protocol") { Description = "HTTP (default), HTTPS or TCP", DefaultValueFactory = _ => "HTTP" };
        var certificate = new Option<string?>("--certificate") { Description = "HTTPS: the default certificate's ARN (berth certificate import)" };
        var sslPolicy = new Option<string?>("--ssl-policy") { Description = "HTTPS: an ELB security policy (ELBSecurityPolicy-2016-08 by default; ELBSecurityPolicy-TLS13-1-2-2021-06 for TLS 1.2+)" };
        var forward = new Option<string[]>("--forward") { Description = "Target group(s) to forward to: NAME or NAME=WEIGHT (repeat for weighted groups)", AllowMultipleArgumentsPerToken = true };
        var fixedResponse = new Option<string?>("--fixed-response") { Description = "Answer from the balancer itself: STATUS[:BODY] (e.g. 503:down for maintenance)" };
        var create = new Command("create", "Add a listener; its default action forwards to target groups or answers itself") { lb, port, protocol, certificate, sslPolicy, forward, fixedResponse };
        actions.Set(create, async (parse, context, ct) =>
        {
            var request = new CreateListenerRequest
            {
                LoadBalancerArn = parse.GetValue(lb)!,
                Port = parse.GetValue(port),
                Protocol = Protocol(parse.GetValue(protocol)!),
                SslPolicy = parse.GetValue(sslPolicy) ?? "",
            };
            if (parse.GetValue(certificate) is { } arn)
            {
                request.Certificates.Add(new CertificateRef { CertificateArn = arn });
            }

            request.DefaultActions.Add(ActionOf(parse.GetValue(forward), parse.GetValue(fixedResponse)));
            var listener = (await context.Scheduler.LoadBalancing.CreateListenerAsync(request, cancellationToken: ct)).Listener;
            PrintListeners(context.Output, [listener]);
            return ExitCodes.Success;
        });
        command.Add(create);

        var listLb = new Argument<string>("lb") { Description = "The load balancer (name or ARN)" };
        var list = new Command("list", "List a load balancer's listeners") { listLb };
        actions.Set(list, async (parse, context, ct) =>
        {
            PrintListeners(context.Output, (await context.Scheduler.LoadBalancing.DescribeListenersAsync(new DescribeListenersRequest { LoadBalancerArn = parse.GetValue(listLb)! }, cancellationToken: ct)).Listeners);
            return ExitCodes.Success;
        });
        command.Add(list);

        var arn = new Argument<string>("listener-arn") { Description = "The listener's ARN" };
        var newPort = new Option<int?>("--port") { Description = "A new port" };
        var newForward = new Option<string[]>("--forward") { Description = "New default action: forward to NAME or NAME=WEIGHT ...", AllowMultipleArgumentsPerToken = true };
        var newFixed = new Option<string?>("--fixed-response") { Description = "New default action: STATUS[:BODY]" };
        var newProtocol = new Option<string?>("--protocol") { Description = "A new protocol (HTTP or HTTPS)" };
        var newCertificate = new Option<string?>("--certificate") { Description = "HTTPS: a new default certificate (ARN)" };
        var newPolicy = new Option<string?>("--ssl-policy") { Description = "HTTPS: a new ELB security policy" };
        var modify = new Command("modify", "Change a listener's port, protocol, certificate, TLS policy or default action") { arn, newPort, newProtocol, newCertificate, newPolicy, newForward, newFixed };
        actions.Set(modify, async (parse, context, ct) =>
        {
            var request = new ModifyListenerRequest { ListenerArn = parse.GetValue(arn)!, SslPolicy = parse.GetValue(newPolicy) ?? "" };
            if (parse.GetValue(newProtocol) is { } changed)
            {
                request.Protocol = Protocol(changed);
            }

            if (parse.GetValue(newCertificate) is { } certificateArn)
            {
                request.Certificates.Add(new CertificateRef { CertificateArn = certificateArn });
            }

            if (parse.GetValue(newPort) is { } p)
            {
                request.Port = p;
            }

            if (parse.GetValue(newForward) is { Length: > 0 } || parse.GetValue(newFixed) is not null)
            {
                request.DefaultActions.Add(ActionOf(parse.GetValue(newForward), parse.GetValue(newFixed)));
            }

            PrintListeners(context.Output, [(await context.Scheduler.LoadBalancing.ModifyListenerAsync(request, cancellationToken: ct)).Listener]);
            return ExitCodes.Success;
        });
        command.Add(modify);

        var deleteArn = new Argument<string>("listener-arn") { Description = "The listener's ARN" };
        var delete = new Command("delete", "Delete a listener and its rules") { deleteArn };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Scheduler.LoadBalancing.DeleteListenerAsync(new DeleteListenerRequest { ListenerArn = parse.GetValue(deleteArn)! }, cancellationToken: ct);
            context.Output.Say("Deleted the listener.");
            return ExitCodes.Success;
        });
        command.Add(delete);
        command.Add(ListenerCertificates(actions));
        command.Add(ChangeListenerCertificates(actions, add: true));
        command.Add(ChangeListenerCertificates(actions, add: false));
        return command;
    }

    private static Command ListenerCertificates(CommandActions actions)
    {
        var arn = new Argument<string>("listener-arn") { Description = "The listener's ARN" };
        var list = new Command("certificates", "List an HTTPS listener's certificates: the default one, then the SNI ones") { arn };
        actions.Set(list, async (parse, context, ct) =>
        {
            var certificates = (await context.Scheduler.LoadBalancing.DescribeListenerCertificatesAsync(
                new DescribeListenerCertificatesRequest { ListenerArn = parse.GetValue(arn)! }, cancellationToken: ct)).Certificates;
            if (context.Output.IsJson)
            {
                context.Output.Json(certificates);
                return ExitCodes.Success;
            }

            context.Output.Table(["DEFAULT", "CERTIFICATE"], certificates.Select(c => (IReadOnlyList<string>)[c.IsDefault ? "yes" : "no", c.CertificateArn]));
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command ChangeListenerCertificates(CommandActions actions, bool add)
    {
        var arn = new Argument<string>("listener-arn") { Description = "The listener's ARN" };
        var certificates = new Option<string[]>("--certificate") { Description = "Certificate ARN(s)", Required = true, AllowMultipleArgumentsPerToken = true };
        var command = add
            ? new Command("add-certificates", "Add certificates an HTTPS listener chooses by the client's SNI name") { arn, certificates }
            : new Command("remove-certificates", "Remove SNI certificates from an HTTPS listener (not its default one)") { arn, certificates };
        actions.Set(command, async (parse, context, ct) =>
        {
            var refs = parse.GetValue(certificates)!.Select(c => new CertificateRef { CertificateArn = c });
            var lbs = context.Scheduler.LoadBalancing;
            if (add)
            {
                await lbs.AddListenerCertificatesAsync(new AddListenerCertificatesRequest { ListenerArn = parse.GetValue(arn)!, Certificates = { refs } }, cancellationToken: ct);
            }
            else
            {
                await lbs.RemoveListenerCertificatesAsync(new RemoveListenerCertificatesRequest { ListenerArn = parse.GetValue(arn)!, Certificates = { refs } }, cancellationToken: ct);
            }

            context.Output.Say(add ? "Added the certificates." : "Removed the certificates.");
            return ExitCodes.Success;
        });
        return command;
    }

    // ---- rules -------------------------------------------------------------------------------------------------

    private static Command Rule(CommandActions actions)
    {
        var command = new Command("rule", "Rules of an HTTP listener (first match by priority wins)");
        var listener = new Option<string>("--listener") { Description = "The listener's ARN", Required = true };
        var priority = new Option<int>("--priority") { Description = "1-50000, unique on the listener; lower is evaluated first", Required = true };
        var path = new Option<string[]>("--path") { Description = "path-pattern condition values (e.g. /api/*)", AllowMultipleArgumentsPerToken = true };
        var host = new Option<string[]>("--host") { Description = "host-header condition values (e.g. *.example.com)", AllowMultipleArgumentsPerToken = true };
        var method = new Option<string[]>("--method") { Description = "http-request-method condition values (e.g. GET)", AllowMultipleArgumentsPerToken = true };
        var forward = new Option<string[]>("--forward") { Description = "Forward to NAME or NAME=WEIGHT ...", AllowMultipleArgumentsPerToken = true };
        var fixedResponse = new Option<string?>("--fixed-response") { Description = "Answer STATUS[:BODY] from the balancer" };
        var create = new Command("create", "Add a rule to a listener") { listener, priority, path, host, method, forward, fixedResponse };
        actions.Set(create, async (parse, context, ct) =>
        {
            var request = new CreateRuleRequest { ListenerArn = parse.GetValue(listener)!, Priority = parse.GetValue(priority) };
            if (parse.GetValue(path) is { Length: > 0 } paths)
            {
                request.Conditions.Add(new RuleCondition { PathPattern = new PathPatternCondition { Values = { paths } } });
            }

            if (parse.GetValue(host) is { Length: > 0 } hosts)
            {
                request.Conditions.Add(new RuleCondition { HostHeader = new HostHeaderCondition { Values = { hosts } } });
            }

            if (parse.GetValue(method) is { Length: > 0 } methods)
            {
                request.Conditions.Add(new RuleCondition { HttpRequestMethod = new HttpRequestMethodCondition { Values = { methods } } });
            }

            request.Actions.Add(ActionOf(parse.GetValue(forward), parse.GetValue(fixedResponse)));
            PrintRules(context.Output, [(await context.Scheduler.LoadBalancing.CreateRuleAsync(request, cancellationToken: ct)).Rule]);
            return ExitCodes.Success;
        });
        command.Add(create);

        var listListener = new Argument<string>("listener-arn") { Description = "The listener's ARN" };
        var list = new Command("list", "List a listener's rules (the default rule last)") { listListener };
        actions.Set(list, async (parse, context, ct) =>
        {
            PrintRules(context.Output, (await context.Scheduler.LoadBalancing.DescribeRulesAsync(new DescribeRulesRequest { ListenerArn = parse.GetValue(listListener)! }, cancellationToken: ct)).Rules);
            return ExitCodes.Success;
        });
        command.Add(list);

        var ruleArn = new Argument<string>("rule-arn") { Description = "The rule's ARN" };
        var delete = new Command("delete", "Delete a rule") { ruleArn };
        actions.Set(delete, async (parse, context, ct) =>
        {
            await context.Scheduler.LoadBalancing.DeleteRuleAsync(new DeleteRuleRequest { RuleArn = parse.GetValue(ruleArn)! }, cancellationToken: ct);
            context.Output.Say("Deleted the rule.");
            return ExitCodes.Success;
        });
        command.Add(delete);
        return command;
    }

    // ---- shared ------------------------------------------------------------------------------------------------

    private static DescribeLoadBalancersRequest ByName(string reference)
    {
        var request = new DescribeLoadBalancersRequest();
        if (reference.StartsWith("arn:", StringComparison.Ordinal))
        {
            request.LoadBalancerArns.Add(reference);
        }
        else
        {
            request.Names.Add(reference);
        }

        return request;
    }

    private static ListenerProtocol Protocol(string value) => value.ToUpperInvariant() switch
    {
        "HTTP" => ListenerProtocol.Http,
        "HTTPS" => ListenerProtocol.Https,
        "TCP" => ListenerProtocol.Tcp,
        _ => throw new CliException($"--protocol must be HTTP, HTTPS or TCP, not '{value}'.", ExitCodes.Usage),
    };

    /// <summary>A forward action from <c>NAME[=WEIGHT]</c> values, or a fixed response from <c>STATUS[:BODY]</c>.</summary>
    internal static RuleAction ActionOf(string[]? forward, string? fixedResponse)
    {
        if ((forward is { Length: > 0 }) == (fixedResponse is not null))
        {
            throw new CliException("give exactly one of --forward and --fixed-response.", ExitCodes.Usage);
        }

        if (fixedResponse is not null)
        {
            var colon = fixedResponse.IndexOf(':', StringComparison.Ordinal);
            return new RuleAction
            {
                FixedResponse = new FixedResponseActionConfig
                {
                    StatusCode = colon < 0 ? fixedResponse : fixedResponse[..colon],
                    ContentType = colon < 0 ? "" : "text/plain",
                    MessageBody = colon < 0 ? "" : fixedResponse[(colon + 1)..],
                },
            };
        }

        var config = new ForwardActionConfig();
        foreach (var value in forward!)
        {
            var eq = value.IndexOf('=', StringComparison.Ordinal);
            var tuple = new TargetGroupTuple { TargetGroupArn = eq < 0 ? value : value[..eq] };
            if (eq >= 0)
            {
                tuple.Weight = int.TryParse(value[(eq + 1)..], out var weight) ? weight : throw new CliException($"--forward {value}: the weight must be a number 0-999.", ExitCodes.Usage);
            }

            config.TargetGroups.Add(tuple);
        }

        return new RuleAction { Forward = config };
    }

    internal static string ActionText(IEnumerable<RuleAction> actions) => string.Join("; ", actions.Select(a => a.BodyCase switch
    {
        RuleAction.BodyOneofCase.Forward => "forward " + string.Join(", ", a.Forward.TargetGroups.Select(g => $"{TargetGroupName(g.TargetGroupArn)}={g.Weight}")),
        RuleAction.BodyOneofCase.FixedResponse => $"fixed-response {a.FixedResponse.StatusCode}",
        RuleAction.BodyOneofCase.Redirect => $"redirect {a.Redirect.StatusCode}",
        _ => "-",
    }));

    private static string TargetGroupName(string arn)
    {
        var parts = arn.Split('/');
        return parts.Length >= 3 ? parts[^2] : arn;
    }

    private static string ConditionText(RuleCondition c) => c.ConditionCase switch
    {
        RuleCondition.ConditionOneofCase.PathPattern => "path " + string.Join("|", c.PathPattern.Values),
        RuleCondition.ConditionOneofCase.HostHeader => "host " + string.Join("|", c.HostHeader.Values),
        RuleCondition.ConditionOneofCase.HttpRequestMethod => "method " + string.Join("|", c.HttpRequestMethod.Values),
        RuleCondition.ConditionOneofCase.HttpHeader => $"header {c.HttpHeader.HttpHeaderName}: " + string.Join("|", c.HttpHeader.Values),
        RuleCondition.ConditionOneofCase.QueryString => "query " + string.Join("|", c.QueryString.Values.Select(v => $"{v.Key}={v.Value}")),
        _ => "-",
    };

    private static void Print(CliOutput output, IReadOnlyCollection<LoadBalancer> lbs)
    {
        if (output.IsJson)
        {
            output.Json(lbs);
            return;
        }

        output.Table(["NAME", "TYPE", "CLUSTER", "STATE", "ADDRESSES", "ARN"], lbs.Select(lb => (IReadOnlyList<string>)
        [
            lb.LoadBalancerName,
            lb.Type == LoadBalancerType.Network ? "network" : "application",
            lb.Cluster,
            lb.State,
            lb.DnsName.Length == 0 ? "-" : lb.DnsName,
            lb.LoadBalancerArn,
        ]));
    }

    private static void PrintListeners(CliOutput output, IReadOnlyCollection<Listener> listeners)
    {
        if (output.IsJson)
        {
            output.Json(listeners);
            return;
        }

        output.Table(["PROTOCOL", "PORT", "DEFAULT ACTION", "TLS", "ARN"], listeners.Select(l => (IReadOnlyList<string>)
        [
            l.Protocol.ToString().ToUpperInvariant(),
            Display.Num(l.Port),
            ActionText(l.DefaultActions),
            l.Protocol == ListenerProtocol.Https ? $"{l.SslPolicy} ({1 + l.SniCertificates.Count} cert.)" : "-",
            l.ListenerArn,
        ]));
    }

    private static void PrintRules(CliOutput output, IReadOnlyCollection<Rule> rules)
    {
        if (output.IsJson)
        {
            output.Json(rules);
            return;
        }

        output.Table(["PRIORITY", "CONDITIONS", "ACTION", "ARN"], rules.Select(r => (IReadOnlyList<string>)
        [
            r.IsDefault ? "default" : Display.Num(r.Priority),
            r.IsDefault ? "(everything else)" : string.Join(" and ", r.Conditions.Select(ConditionText)),
            ActionText(r.Actions),
            r.RuleArn,
        ]));
    }
}

using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.LoadBalancers;

/// <summary><c>berth targetgroup create|list|describe|delete|health|register|deregister</c>.</summary>
internal static class TargetGroupCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("targetgroup", "Target groups: where a load balancer forwards to, with health checks (services register their tasks)");
        command.Add(Create(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Delete(actions));
        command.Add(Health(actions));
        command.Add(Targets(actions, register: true));
        command.Add(Targets(actions, register: false));
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The target group's name or ARN" };

    private static Command Create(CommandActions actions)
    {
        var name = new Argument<string>("name") { Description = "1-32 letters, digits and hyphens, unique" };
        var port = new Option<int>("--port") { Description = "Default port of targets registered without one", Required = true };
        var protocol = new Option<string>("--protocol") { Description = "HTTP (default), HTTPS or TCP", DefaultValueFactory = _ => "HTTP" };
        var path = new Option<string?>("--health-check-path") { Description = "The path health checks GET (starts with '/'; '/')" };
        var interval = new Option<int?>("--health-check-interval") { Description = "Seconds between checks, 5-300 (30)" };
        var timeout = new Option<int?>("--health-check-timeout") { Description = "Seconds without an answer that fail a check, 2-120 (5)" };
        var healthy = new Option<int?>("--healthy-threshold") { Description = "Passes that make a target healthy, 2-10 (5)" };
        var unhealthy = new Option<int?>("--unhealthy-threshold") { Description = "Failures that make a target unhealthy, 2-10 (2)" };
        var matcher = new Option<string?>("--matcher") { Description = "HTTP codes counted as success: 200, 200,202 or 200-299 (200)" };
        var delay = new Option<int?>("--deregistration-delay") { Description = "Seconds a deregistered target drains at most, 0-3600 (300)" };
        var targetType = new Option<string>("--target-type")
        {
            Description = "instance (default: instance address + host port, for bridge and host services) or ip (task addresses, for awsvpc services)",
            DefaultValueFactory = _ => "instance",
        };
        targetType.AcceptOnlyFromAmong("instance", "ip");
        var create = new Command("create", "Create a target group in the cluster") { name, port, protocol, path, interval, timeout, healthy, unhealthy, matcher, delay, targetType };
        actions.Set(create, async (parse, context, ct) =>
        {
            var check = new HealthCheck { Path = parse.GetValue(path) ?? "", HttpCode = parse.GetValue(matcher) ?? "" };
            if (parse.GetValue(interval) is { } i)
            {
                check.IntervalSeconds = i;
            }

            if (parse.GetValue(timeout) is { } t)
            {
                check.TimeoutSeconds = t;
            }

            if (parse.GetValue(healthy) is { } h)
            {
                check.HealthyThresholdCount = h;
            }

            if (parse.GetValue(unhealthy) is { } u)
            {
                check.UnhealthyThresholdCount = u;
            }

            var request = new CreateTargetGroupRequest
            {
                Name = parse.GetValue(name)!,
                Port = parse.GetValue(port),
                Protocol = parse.GetValue(protocol)!.ToUpperInvariant() switch
                {
                    "HTTP" => TargetProtocol.Http,
                    "HTTPS" => TargetProtocol.Https,
                    "TCP" => TargetProtocol.Tcp,
                    var other => throw new CliException($"--protocol must be HTTP, HTTPS or TCP, not '{other}'.", ExitCodes.Usage),
                },
                HealthCheck = check,
                Cluster = context.Cluster,
                TargetType = parse.GetValue(targetType)!,
            };
            if (parse.GetValue(delay) is { } seconds)
            {
                request.Attributes = new TargetGroupAttributes { DeregistrationDelaySeconds = seconds };
            }

            Print(context.Output, [(await context.Scheduler.LoadBalancing.CreateTargetGroupAsync(request, cancellationToken: ct)).TargetGroup]);
            return ExitCodes.Success;
        });
        return create;
    }

    private static Command List(CommandActions actions)
    {
        var lb = new Option<string?>("--lb") { Description = "Only the groups this load balancer forwards to" };
        var list = new Command("list", "List target groups") { lb };
        actions.Set(list, async (parse, context, ct) =>
        {
            Print(context.Output, (await context.Scheduler.LoadBalancing.DescribeTargetGroupsAsync(
                new DescribeTargetGroupsRequest { LoadBalancerArn = parse.GetValue(lb) ?? "" }, cancellationToken: ct)).TargetGroups);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var name = NameArgument();
        var describe = new Command("describe", "Show a target group's settings and its targets' health") { name };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var group = await FindAsync(context, parse.GetValue(name)!, ct);
            var health = (await context.Scheduler.LoadBalancing.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = group.TargetGroupArn }, cancellationToken: ct)).TargetHealthDescriptions;
            if (context.Output.IsJson)
            {
                context.Output.Json(new System.Text.Json.Nodes.JsonObject
                {
                    ["targetGroup"] = CliOutput.ToNode(group),
                    ["targets"] = new System.Text.Json.Nodes.JsonArray([.. health.Select(CliOutput.ToNode)]),
                });
                return ExitCodes.Success;
            }

            var check = group.HealthCheck;
            context.Output.Fields(
            [
                ("Name", group.TargetGroupName),
                ("ARN", group.TargetGroupArn),
                ("Protocol", $"{group.Protocol.ToString().ToUpperInvariant()}:{group.Port}"),
                ("Target type", group.TargetType),
                ("Cluster", group.Cluster),
                ("Load balancers", group.LoadBalancerArns.Count == 0 ? "-" : string.Join(", ", group.LoadBalancerArns.Select(Display.ShortArn))),
                ("Health check", check.Enabled ? $"{check.Protocol.ToString().ToUpperInvariant()} {check.Path} every {check.IntervalSeconds} s, timeout {check.TimeoutSeconds} s, healthy after {check.HealthyThresholdCount}, unhealthy after {check.UnhealthyThresholdCount}, codes {check.HttpCode}" : "disabled"),
                ("Deregistration delay", $"{group.Attributes.DeregistrationDelaySeconds} s"),
            ]);
            context.Output.Say("");
            PrintHealth(context.Output, health);
            return ExitCodes.Success;
        });
        return describe;
    }

    private static Command Delete(CommandActions actions)
    {
        var name = NameArgument();
        var delete = new Command("delete", "Delete a target group (refused while a listener, rule or service uses it)") { name };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var group = await FindAsync(context, parse.GetValue(name)!, ct);
            await context.Scheduler.LoadBalancing.DeleteTargetGroupAsync(new DeleteTargetGroupRequest { TargetGroupArn = group.TargetGroupArn }, cancellationToken: ct);
            context.Output.Say($"Deleted target group {group.TargetGroupName}.");
            return ExitCodes.Success;
        });
        return delete;
    }

    private static Command Health(CommandActions actions)
    {
        var name = NameArgument();
        var health = new Command("health", "Each target's health as the balancers see it") { name };
        actions.Set(health, async (parse, context, ct) =>
        {
            var group = await FindAsync(context, parse.GetValue(name)!, ct);
            var targets = (await context.Scheduler.LoadBalancing.DescribeTargetHealthAsync(new DescribeTargetHealthRequest { TargetGroupArn = group.TargetGroupArn }, cancellationToken: ct)).TargetHealthDescriptions;
            if (context.Output.IsJson)
            {
                context.Output.Json(targets);
            }
            else
            {
                PrintHealth(context.Output, targets);
            }

            return ExitCodes.Success;
        });
        return health;
    }

    private static Command Targets(CommandActions actions, bool register)
    {
        var name = NameArgument();
        var targets = new Argument<string[]>("targets") { Description = "ADDRESS[:PORT] ...", Arity = ArgumentArity.OneOrMore };
        var command = new Command(register ? "register" : "deregister",
            register ? "Register targets by hand (services register their tasks themselves)" : "Deregister targets: they drain, then leave") { name, targets };
        actions.Set(command, async (parse, context, ct) =>
        {
            var group = await FindAsync(context, parse.GetValue(name)!, ct);
            var descriptions = parse.GetValue(targets)!.Select(ParseTarget).ToList();
            if (register)
            {
                await context.Scheduler.LoadBalancing.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = group.TargetGroupArn, Targets = { descriptions } }, cancellationToken: ct);
            }
            else
            {
                await context.Scheduler.LoadBalancing.DeregisterTargetsAsync(new DeregisterTargetsRequest { TargetGroupArn = group.TargetGroupArn, Targets = { descriptions } }, cancellationToken: ct);
            }

            context.Output.Say($"{(register ? "Registered" : "Deregistered")} {descriptions.Count} targets in {group.TargetGroupName}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static TargetDescription ParseTarget(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon > 0 && !value.EndsWith(']') && value.Count(c => c == ':') == 1)
        {
            return int.TryParse(value[(colon + 1)..], out var port)
                ? new TargetDescription { Id = value[..colon], Port = port }
                : throw new CliException($"'{value}': the port must be a number.", ExitCodes.Usage);
        }

        return new TargetDescription { Id = value };
    }

    private static async Task<TargetGroup> FindAsync(CliContext context, string reference, CancellationToken ct)
    {
        var request = new DescribeTargetGroupsRequest();
        if (reference.StartsWith("arn:", StringComparison.Ordinal))
        {
            request.TargetGroupArns.Add(reference);
        }
        else
        {
            request.Names.Add(reference);
        }

        return (await context.Scheduler.LoadBalancing.DescribeTargetGroupsAsync(request, cancellationToken: ct)).TargetGroups[0];
    }

    private static void Print(CliOutput output, IReadOnlyCollection<TargetGroup> groups)
    {
        if (output.IsJson)
        {
            output.Json(groups);
            return;
        }

        output.Table(["NAME", "PROTOCOL", "PORT", "TYPE", "CLUSTER", "LOAD BALANCERS", "HEALTH CHECK", "ARN"], groups.Select(g => (IReadOnlyList<string>)
        [
            g.TargetGroupName,
            g.Protocol.ToString().ToUpperInvariant(),
            Display.Num(g.Port),
            g.TargetType,
            g.Cluster,
            g.LoadBalancerArns.Count == 0 ? "-" : string.Join(",", g.LoadBalancerArns.Select(a => a.Split('/')[^2])),
            g.HealthCheck.Enabled ? g.HealthCheck.Path : "off",
            g.TargetGroupArn,
        ]));
    }

    private static void PrintHealth(CliOutput output, IReadOnlyCollection<TargetHealthDescription> targets) =>
        output.Table(["TARGET", "STATE", "REASON", "DESCRIPTION"], targets.Select(t => (IReadOnlyList<string>)
        [
            $"{t.Target.Id}:{t.Target.Port}",
            t.TargetHealth.State switch
            {
                TargetHealthState.Initial => "initial",
                TargetHealthState.Healthy => "healthy",
                TargetHealthState.Unhealthy => "unhealthy",
                TargetHealthState.Unused => "unused",
                TargetHealthState.Draining => "draining",
                TargetHealthState.Unavailable => "unavailable",
                _ => "-",
            },
            t.TargetHealth.Reason.Length == 0 ? "-" : t.TargetHealth.Reason,
            t.TargetHealth.Description.Length == 0 ? "-" : t.TargetHealth.Description,
        ]));
}

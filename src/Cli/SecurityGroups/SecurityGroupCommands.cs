using System.CommandLine;
using System.Globalization;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.SecurityGroups;

/// <summary>
/// <c>berth securitygroup create|list|describe|delete|authorize|revoke</c>: EC2's security groups for awsvpc tasks, the
/// cluster standing in for the VPC. The options follow <c>aws ec2 authorize-security-group-ingress</c>'s shorthand
/// (<c>--protocol --port --cidr | --source-group</c>).
/// </summary>
internal static class SecurityGroupCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("securitygroup", "Security groups: ingress rules for awsvpc tasks (members of a group reach each other; egress is free)");
        command.Add(Create(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Delete(actions));
        command.Add(Rule(actions, authorize: true));
        command.Add(Rule(actions, authorize: false));
        return command;
    }

    /// <summary>
    /// The <c>--security-groups</c> option of <c>berth task run</c> and <c>berth service create|update</c>: ids, repeated
    /// or comma-separated (ECS's awsvpcConfiguration.securityGroups).
    /// </summary>
    public static Option<string[]> GroupsOption() => new("--security-groups")
    {
        Description = "awsvpc only: security group ids the tasks join (sg-..., comma-separated or repeated; none: the cluster's default group)",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>
    /// The network configuration of <see cref="GroupsOption"/>'s and <see cref="Clusters.ClusterCommands.SubnetsOption"/>'s
    /// values; null when both are absent. As ECS's networkConfiguration it is one whole: an update that gives one of them
    /// sets the other to none.
    /// </summary>
    public static NetworkConfiguration? NetworkConfigurationOf(ParseResult parse, Option<string[]> groupsOption, Option<string[]> subnetsOption)
    {
        if (parse.GetResult(groupsOption) is null && parse.GetResult(subnetsOption) is null)
        {
            return null;
        }

        return new NetworkConfiguration
        {
            AwsvpcConfiguration = new AwsvpcNetworkConfiguration { SecurityGroups = { Values(parse, groupsOption) }, Subnets = { Values(parse, subnetsOption) } },
        };
    }

    // Repeated or comma-separated values.
    private static IEnumerable<string> Values(ParseResult parse, Option<string[]> option) =>
        (parse.GetValue(option) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static Argument<string> GroupArgument() => new("group") { Description = "The group's id (sg-...) or name" };

    private static Command Create(CommandActions actions)
    {
        var name = new Argument<string>("name") { Description = "Unique in the cluster; up to 255 characters, not starting with sg-" };
        var description = new Option<string>("--description") { Description = "What the group is for (required, as in EC2)", Required = true };
        var create = new Command("create", "Create a security group (no ingress rules yet)") { name, description };
        actions.Set(create, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.SecurityGroups.CreateSecurityGroupAsync(
                new CreateSecurityGroupRequest { Cluster = context.Cluster, GroupName = parse.GetValue(name), Description = parse.GetValue(description) }, cancellationToken: ct);
            PrintList(context.Output, [reply.SecurityGroup]);
            return ExitCodes.Success;
        });
        return create;
    }

    private static Command List(CommandActions actions)
    {
        var list = new Command("list", "List the cluster's security groups");
        actions.Set(list, async (_, context, ct) =>
        {
            var groups = await SchedulerClient.AllPagesAsync<SecurityGroupInfo>(async token =>
            {
                var page = await context.Scheduler.SecurityGroups.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { Cluster = context.Cluster, NextToken = token }, cancellationToken: ct);
                return (page.SecurityGroups, page.NextToken);
            });
            PrintList(context.Output, groups);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var groups = new Argument<string[]>("group") { Description = "Group ids (sg-...) or names", Arity = ArgumentArity.OneOrMore };
        var describe = new Command("describe", "Show security groups with their rules") { groups };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var request = new DescribeSecurityGroupsRequest { Cluster = context.Cluster };
            foreach (var group in parse.GetValue(groups) ?? [])
            {
                (group.StartsWith("sg-", StringComparison.Ordinal) ? request.GroupIds : request.GroupNames).Add(group);
            }

            var reply = await context.Scheduler.SecurityGroups.DescribeSecurityGroupsAsync(request, cancellationToken: ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(reply.SecurityGroups);
                return ExitCodes.Success;
            }

            foreach (var group in reply.SecurityGroups)
            {
                context.Output.Fields([("GROUP ID", group.GroupId), ("NAME", group.GroupName), ("DESCRIPTION", group.Description), ("CLUSTER", group.Cluster), ("EGRESS", "all traffic")]);
                context.Output.Table(["PROTOCOL", "PORTS", "SOURCE", "DESCRIPTION"], Rows(group));
                context.Output.Out.WriteLine();
            }

            return ExitCodes.Success;
        });
        return describe;
    }

    private static Command Delete(CommandActions actions)
    {
        var group = GroupArgument();
        var delete = new Command("delete", "Delete a security group no task, service or other group's rule uses") { group };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.SecurityGroups.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { Cluster = context.Cluster, Group = parse.GetValue(group) }, cancellationToken: ct);
            context.Output.Say($"deleted {reply.GroupId}");
            return ExitCodes.Success;
        });
        return delete;
    }

    private static Command Rule(CommandActions actions, bool authorize)
    {
        var group = GroupArgument();
        var protocol = new Option<string>("--protocol") { Description = "tcp (default), udp, icmp or all (-1)", DefaultValueFactory = _ => "tcp" };
        var port = new Option<string?>("--port") { Description = "tcp/udp: a port or a range (8080, 8000-8100; 0-65535 for all); not for icmp and all" };
        var cidr = new Option<string[]>("--cidr") { Description = "Source IPv4 CIDR(s) (10.0.0.0/16, 0.0.0.0/0)", AllowMultipleArgumentsPerToken = true };
        var source = new Option<string[]>("--source-group") { Description = "Source security group id(s): their member tasks", AllowMultipleArgumentsPerToken = true };
        var description = new Option<string?>("--description") { Description = "Free text kept with the rule(s)" };
        var name = authorize ? "authorize" : "revoke";
        var rule = new Command(name, authorize ? "Allow ingress to the group's tasks (EC2 AuthorizeSecurityGroupIngress)" : "Remove ingress rules (EC2 RevokeSecurityGroupIngress)")
        {
            group, protocol, port, cidr, source, description,
        };
        actions.Set(rule, async (parse, context, ct) =>
        {
            var permission = Permission(parse.GetValue(protocol) ?? "tcp", parse.GetValue(port), parse.GetValue(cidr) ?? [], parse.GetValue(source) ?? [], parse.GetValue(description) ?? "");
            SecurityGroupInfo changed;
            if (authorize)
            {
                changed = (await context.Scheduler.SecurityGroups.AuthorizeSecurityGroupIngressAsync(
                    new AuthorizeSecurityGroupIngressRequest { Cluster = context.Cluster, Group = parse.GetValue(group), IpPermissions = { permission } }, cancellationToken: ct)).SecurityGroup;
            }
            else
            {
                changed = (await context.Scheduler.SecurityGroups.RevokeSecurityGroupIngressAsync(
                    new RevokeSecurityGroupIngressRequest { Cluster = context.Cluster, Group = parse.GetValue(group), IpPermissions = { permission } }, cancellationToken: ct)).SecurityGroup;
            }

            if (context.Output.IsJson)
            {
                context.Output.Json(changed);
            }
            else
            {
                context.Output.Table(["PROTOCOL", "PORTS", "SOURCE", "DESCRIPTION"], Rows(changed));
            }

            return ExitCodes.Success;
        });
        return rule;
    }

    /// <summary>One IpPermission from the shorthand; the scheduler checks the rest in EC2's words.</summary>
    internal static IpPermission Permission(string protocol, string? port, IReadOnlyList<string> cidrs, IReadOnlyList<string> sources, string description)
    {
        if (cidrs.Count == 0 && sources.Count == 0)
        {
            throw new CliException("give a source: --cidr CIDR or --source-group sg-...", ExitCodes.Usage);
        }

        var permission = new IpPermission { IpProtocol = protocol };
        if (!string.IsNullOrEmpty(port))
        {
            var parts = port.Split('-', 2);
            // "-1" (EC2's "every port" / every ICMP type) is a number, not a range.
            if (port == "-1")
            {
                parts = ["-1"];
            }

            if (!int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var from)
                || (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw new CliException($"--port: '{port}' is not a port or a range (8080, 8000-8100)", ExitCodes.Usage);
            }

            permission.FromPort = from;
            permission.ToPort = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : from;
        }

        permission.IpRanges.AddRange(cidrs.Select(c => new IpRange { CidrIp = c, Description = description }));
        permission.UserIdGroupPairs.AddRange(sources.Select(s => new UserIdGroupPair { GroupId = s, Description = description }));
        return permission;
    }

    private static IEnumerable<IReadOnlyList<string>> Rows(SecurityGroupInfo group) =>
        group.IpPermissions.SelectMany(p =>
        {
            var protocol = p.IpProtocol == "-1" ? "all" : p.IpProtocol;
            var ports = p.IpProtocol is "tcp" or "udp" ? (p.FromPort == p.ToPort ? Display.Num(p.FromPort) : $"{Display.Num(p.FromPort)}-{Display.Num(p.ToPort)}") : "all";
            return p.IpRanges.Select(r => (IReadOnlyList<string>)[protocol, ports, r.CidrIp, r.Description.Length > 0 ? r.Description : "-"])
                .Concat(p.UserIdGroupPairs.Select(g => (IReadOnlyList<string>)[protocol, ports, g.GroupId, g.Description.Length > 0 ? g.Description : "-"]));
        });

    private static void PrintList(CliOutput output, IReadOnlyCollection<SecurityGroupInfo> groups)
    {
        if (output.IsJson)
        {
            output.Json(groups);
            return;
        }

        output.Table(
            ["GROUP ID", "NAME", "RULES", "DESCRIPTION"],
            groups.Select(g => (IReadOnlyList<string>)[g.GroupId, g.GroupName, Display.Num(g.IpPermissions.Sum(p => p.IpRanges.Count + p.UserIdGroupPairs.Count)), g.Description]));
    }
}

using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.HostGroups;

/// <summary><c>berth hostgroup create|update|describe|list|delete|activities</c>: host groups (auto scaling groups) of a cluster.</summary>
internal static class HostGroupCommands
{
    public static Command Build(CommandActions actions)
    {
        var hostgroup = new Command("hostgroup", "Host groups: hosts Berth makes and retires itself through its provisioner (auto scaling groups)");
        hostgroup.Add(Create(actions));
        hostgroup.Add(Update(actions));
        hostgroup.Add(Describe(actions));
        hostgroup.Add(List(actions));
        hostgroup.Add(Delete(actions));
        hostgroup.Add(Activities(actions));
        return hostgroup;
    }

    private static Argument<string> Name() => new("name") { Description = "The host group's name" };

    private static Command Create(CommandActions actions)
    {
        var name = Name();
        var min = new Option<int>("--min") { Description = "Fewest hosts", Required = true };
        var max = new Option<int>("--max") { Description = "Most hosts", Required = true };
        var desired = new Option<int?>("--desired") { Description = "Hosts to keep (the minimum when not given)" };
        var instanceType = new Option<string?>("--instance-type") { Description = "The hosts' instance type attribute (berth.instance-type)" };
        var zones = new Option<string[]>("--zone") { Description = "A zone to spread the hosts over (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var attributes = new Option<string[]>("--attribute") { Description = "A custom attribute NAME=VALUE for every host (repeat for several)" };
        var grace = new Option<int?>("--grace-period") { Description = "Seconds after a launch before a host's health counts (default 300)" };
        var command = new Command("create", "Create a host group; its hosts are launched right after") { name, min, max, desired, instanceType, zones, attributes, grace };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new CreateHostGroupRequest
            {
                Cluster = context.Cluster,
                Name = parse.GetValue(name)!,
                MinSize = parse.GetValue(min),
                MaxSize = parse.GetValue(max),
                InstanceType = parse.GetValue(instanceType) ?? "",
                Zones = { parse.GetValue(zones) ?? [] },
            };
            if (parse.GetValue(desired) is { } d)
            {
                request.DesiredCapacity = d;
            }

            if (parse.GetValue(grace) is { } g)
            {
                request.HealthCheckGracePeriod = g;
            }

            foreach (var pair in parse.GetValue(attributes) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new CliException($"--attribute '{pair}': expected NAME=VALUE.", ExitCodes.Usage);
                }

                request.Attributes[pair[..eq]] = pair[(eq + 1)..];
            }

            var reply = await context.Scheduler.HostGroups.CreateHostGroupAsync(request, cancellationToken: ct);
            context.Output.Say(reply.HostGroupArn);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Update(CommandActions actions)
    {
        var name = Name();
        var min = new Option<int?>("--min") { Description = "New fewest hosts" };
        var max = new Option<int?>("--max") { Description = "New most hosts" };
        var desired = new Option<int?>("--desired") { Description = "New hosts to keep" };
        var grace = new Option<int?>("--grace-period") { Description = "New grace period in seconds" };
        var command = new Command("update", "Change a host group's size or grace period (what is not given stays)") { name, min, max, desired, grace };
        actions.Set(command, async (parse, context, ct) =>
        {
            var request = new UpdateHostGroupRequest { Cluster = context.Cluster, Name = parse.GetValue(name)! };
            if (parse.GetValue(min) is { } low)
            {
                request.MinSize = low;
            }

            if (parse.GetValue(max) is { } high)
            {
                request.MaxSize = high;
            }

            if (parse.GetValue(desired) is { } d)
            {
                request.DesiredCapacity = d;
            }

            if (parse.GetValue(grace) is { } g)
            {
                request.HealthCheckGracePeriod = g;
            }

            await context.Scheduler.HostGroups.UpdateHostGroupAsync(request, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Describe(CommandActions actions)
    {
        var name = Name();
        var command = new Command("describe", "Show a host group with its hosts") { name };
        actions.Set(command, async (parse, context, ct) =>
        {
            var groupName = parse.GetValue(name)!;
            var groups = (await context.Scheduler.HostGroups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Cluster = context.Cluster, Names = { groupName } }, cancellationToken: ct)).HostGroups;
            if (groups.Count == 0)
            {
                throw new CliException($"Host group '{groupName}' not found in cluster '{context.Cluster}'.", ExitCodes.Failure);
            }

            var group = groups[0];
            if (context.Output.IsJson)
            {
                context.Output.Json(group);
                return ExitCodes.Success;
            }

            context.Output.Fields(
            [
                ("Name", group.Name),
                ("ARN", group.HostGroupArn),
                ("Cluster", group.Cluster),
                ("Size", $"min {group.MinSize}, max {group.MaxSize}, desired {group.DesiredCapacity}"),
                ("Instance type", group.InstanceType.Length > 0 ? group.InstanceType : "-"),
                ("Zones", group.Zones.Count > 0 ? string.Join(", ", group.Zones) : "-"),
                ("Attributes", group.Attributes.Count > 0 ? string.Join(", ", group.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}")) : "-"),
                ("Grace period", $"{group.HealthCheckGracePeriod} s"),
                ("Provisioner", group.Provisioner.Length > 0 ? group.Provisioner : "-"),
                ("Status", group.Status.Length > 0 ? group.Status : "-"),
                ("Created", Display.Time(group.CreatedTime)),
            ]);
            context.Output.Say("");
            context.Output.Table(["HOST", "ZONE", "LIFECYCLE", "HEALTH", "INSTANCE", "LAUNCHED"], group.Hosts.Select(h => (IReadOnlyList<string>)
                [h.Name, h.Zone.Length > 0 ? h.Zone : "-", h.LifecycleState, h.HealthStatus, h.ContainerInstanceArn.Length > 0 ? Display.ShortArn(h.ContainerInstanceArn) : "-", Display.Time(h.LaunchTime)]));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CommandActions actions)
    {
        var command = new Command("list", "List the cluster's host groups");
        actions.Set(command, async (parse, context, ct) =>
        {
            var groups = (await context.Scheduler.HostGroups.DescribeHostGroupsAsync(new DescribeHostGroupsRequest { Cluster = context.Cluster }, cancellationToken: ct)).HostGroups;
            if (context.Output.IsJson)
            {
                context.Output.Json(groups);
                return ExitCodes.Success;
            }

            context.Output.Table(["NAME", "MIN", "MAX", "DESIRED", "IN SERVICE", "ZONES", "STATUS"], groups.Select(g => (IReadOnlyList<string>)
            [
                g.Name, Display.Num(g.MinSize), Display.Num(g.MaxSize), Display.Num(g.DesiredCapacity),
                Display.Num(g.Hosts.Count(h => h.LifecycleState == "InService")), g.Zones.Count > 0 ? string.Join(",", g.Zones) : "-", g.Status.Length > 0 ? g.Status : "-",
            ]));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(CommandActions actions)
    {
        var name = Name();
        var force = new Option<bool>("--force") { Description = "Terminate its hosts (deregistering their container instances), then delete it" };
        var command = new Command("delete", "Delete a host group (refused while it has hosts, unless --force)") { name, force };
        actions.Set(command, async (parse, context, ct) =>
        {
            await context.Scheduler.HostGroups.DeleteHostGroupAsync(new DeleteHostGroupRequest { Cluster = context.Cluster, Name = parse.GetValue(name)!, ForceDelete = parse.GetValue(force) }, cancellationToken: ct);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Activities(CommandActions actions)
    {
        var name = Name();
        var limit = new Option<int>("--limit") { Description = "How many of the newest (at most 100)", DefaultValueFactory = _ => 20 };
        var command = new Command("activities", "Show a host group's scaling activities with their causes, newest first") { name, limit };
        actions.Set(command, async (parse, context, ct) =>
        {
            var activities = (await context.Scheduler.HostGroups.DescribeHostGroupActivitiesAsync(
                new DescribeHostGroupActivitiesRequest { Cluster = context.Cluster, Name = parse.GetValue(name)!, MaxRecords = parse.GetValue(limit) }, cancellationToken: ct)).Activities;
            if (context.Output.IsJson)
            {
                context.Output.Json(activities);
                return ExitCodes.Success;
            }

            context.Output.Table(["TIME", "STATUS", "DESCRIPTION", "CAUSE", "MESSAGE"], activities.Select(a => (IReadOnlyList<string>)
                [Display.Time(a.StartTime), a.StatusCode, a.Description, a.Cause, a.StatusMessage.Length > 0 ? a.StatusMessage : "-"]));
            return ExitCodes.Success;
        });
        return command;
    }
}

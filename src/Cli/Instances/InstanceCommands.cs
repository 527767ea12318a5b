using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Instances;

/// <summary><c>berth instance list|describe|drain|activate</c>: the hosts of a cluster.</summary>
internal static class InstanceCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("instance", "List, describe, drain and activate container instances (hosts)");

        var status = new Option<string?>("--status") { Description = "Only ACTIVE, DRAINING or INACTIVE instances (all but INACTIVE by default)" };
        var filter = new Option<string?>("--filter") { Description = "A cluster query language expression, e.g. 'attribute:berth.zone == a'" };
        var fargate = new Option<bool>("--include-fargate") { Description = "Also list the hosts of the cluster's FARGATE pool (Berth makes and retires them; hidden by default)" };
        var list = new Command("list", "List instances with resources and task counts") { status, filter, fargate };
        actions.Set(list, async (parse, context, ct) =>
        {
            var arns = await SchedulerClient.AllPagesAsync<string>(async token =>
            {
                var page = await context.Scheduler.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest
                {
                    Cluster = context.Cluster,
                    Status = parse.GetValue(status)?.ToUpperInvariant() ?? string.Empty,
                    Filter = parse.GetValue(filter) ?? string.Empty,
                    NextToken = token,
                    IncludeFargate = parse.GetValue(fargate),
                }, cancellationToken: ct);
                return (page.ContainerInstanceArns, page.NextToken);
            });
            Print(context.Output, await DescribeAsync(context, arns, ct));
            return ExitCodes.Success;
        });

        var describeIds = new Argument<string[]>("INSTANCE") { Description = "Instance ids or ARNs", Arity = ArgumentArity.OneOrMore };
        var describe = new Command("describe", "Describe instances: resources, attributes, agent") { describeIds };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var instances = await DescribeAsync(context, parse.GetValue(describeIds)!, ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(instances);
                return ExitCodes.Success;
            }

            foreach (var instance in instances)
            {
                context.Output.Fields(
                [
                    ("Instance", instance.ContainerInstanceId),
                    ("ARN", instance.ContainerInstanceArn),
                    ("Status", Display.Status(instance.Status)),
                    ("Agent", $"{(instance.AgentConnected ? "connected" : "disconnected")}, version {instance.AgentVersion}, last seen {Display.Time(instance.LastSeenAt)}"),
                    ("Hostname", instance.Hostname),
                    ("Cpu (registered / remaining)", $"{instance.RegisteredResources?.Cpu} / {instance.RemainingResources?.Cpu}"),
                    ("Memory MiB (registered / remaining)", $"{instance.RegisteredResources?.Memory} / {instance.RemainingResources?.Memory}"),
                    ("Ports in use", string.Join(",", instance.RemainingResources?.Ports ?? [])),
                    ("Tasks (running / pending)", $"{instance.RunningTasksCount} / {instance.PendingTasksCount}"),
                    ("Registered", Display.Time(instance.RegisteredAt)),
                ]);
                context.Output.Out.WriteLine();
                context.Output.Table(["ATTRIBUTE", "VALUE"], instance.Attributes.Select(a => (IReadOnlyList<string>)[a.Name, a.Value]));
                context.Output.Out.WriteLine();
            }

            return ExitCodes.Success;
        });

        command.Add(list);
        command.Add(describe);
        command.Add(StateCommand(actions, "drain", "Drain instances: no new tasks; service tasks move elsewhere", ContainerInstanceStatus.Draining));
        command.Add(StateCommand(actions, "activate", "Make instances ACTIVE again", ContainerInstanceStatus.Active));
        return command;
    }

    private static Command StateCommand(CommandActions actions, string name, string description, ContainerInstanceStatus status)
    {
        var ids = new Argument<string[]>("INSTANCE") { Description = "Instance ids or ARNs", Arity = ArgumentArity.OneOrMore };
        var command = new Command(name, description) { ids };
        actions.Set(command, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Instances.UpdateContainerInstancesStateAsync(new UpdateContainerInstancesStateRequest
            {
                Cluster = context.Cluster,
                ContainerInstances = { parse.GetValue(ids)! },
                Status = status,
            }, cancellationToken: ct);
            foreach (var failure in reply.Failures)
            {
                context.Output.Error.WriteLine($"{Display.ShortArn(failure.Arn)}: {failure.Reason} {failure.Detail}");
            }

            Print(context.Output, [.. reply.ContainerInstances]);
            return reply.Failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static async Task<List<ContainerInstance>> DescribeAsync(CliContext context, IEnumerable<string> ids, CancellationToken ct)
    {
        var instances = new List<ContainerInstance>();
        var failures = new List<Failure>();
        foreach (var chunk in SchedulerClient.Chunks(ids, 100))
        {
            var reply = await context.Scheduler.Instances.DescribeContainerInstancesAsync(
                new DescribeContainerInstancesRequest { Cluster = context.Cluster, ContainerInstances = { chunk } }, cancellationToken: ct);
            instances.AddRange(reply.ContainerInstances);
            failures.AddRange(reply.Failures);
        }

        return failures.Count == 0 ? instances : throw SchedulerClient.Missing($"no container instance in cluster '{context.Cluster}' named", failures);
    }

    private static void Print(CliOutput output, IReadOnlyCollection<ContainerInstance> instances)
    {
        if (output.IsJson)
        {
            output.Json(instances);
            return;
        }

        output.Table(
            ["INSTANCE", "STATUS", "AGENT", "ZONE", "CPU FREE", "MEM FREE", "RUNNING", "PENDING", "HOSTNAME"],
            instances.Select(i => (IReadOnlyList<string>)
            [
                i.ContainerInstanceId,
                Display.Status(i.Status),
                i.AgentConnected ? "connected" : "disconnected",
                i.Attributes.FirstOrDefault(a => a.Name == "berth.zone")?.Value ?? "-",
                $"{i.RemainingResources?.Cpu}/{i.RegisteredResources?.Cpu}",
                $"{i.RemainingResources?.Memory}/{i.RegisteredResources?.Memory}",
                Display.Num(i.RunningTasksCount),
                Display.Num(i.PendingTasksCount),
                i.Hostname,
            ]));
    }
}

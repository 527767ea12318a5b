using System.CommandLine;
using Berth.Cli.Common;
using Berth.Cli.Clusters;
using Berth.Cli.SecurityGroups;
using Berth.Scheduler.V1;

namespace Berth.Cli.Tasks;

/// <summary><c>berth task run|list|describe|stop</c>.</summary>
internal static class TaskCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("task", "Run, list, describe, stop and exec into tasks");
        command.Add(Run(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Stop(actions));
        command.Add(Services.ScalingCommands.Stats(actions));
        command.Add(ExecCommand.Build(actions));
        return command;
    }

    private static Command Run(CommandActions actions)
    {
        var taskdef = new Option<string>("--taskdef", "-t") { Description = "FAMILY[:REVISION] or an ARN", Required = true };
        var count = new Option<int>("--count", "-n") { Description = "Copies to start (1-10)", DefaultValueFactory = _ => 1 };
        var group = new Option<string?>("--group") { Description = "The task group (family:<family> by default)" };
        var startedBy = new Option<string?>("--started-by") { Description = "Free text saved on the task" };
        var launchType = new Option<string?>("--launch-type") { Description = "EC2 or FARGATE (EC2, or the cluster's default capacity provider strategy, when neither this nor a strategy is given)" };
        var strategy = CapacityProviderStrategyArguments.StrategyOption();
        var wait = new Option<bool>("--wait") { Description = "Wait until every task runs (non-zero exit if one stops instead)" };
        var enableExec = new Option<bool>("--enable-execute-command") { Description = "Allow `berth task exec` into the tasks (off by default, as ECS's enableExecuteCommand)" };
        var timeout = WaitTimeout();
        var securityGroups = SecurityGroupCommands.GroupsOption();
        var subnets = ClusterCommands.SubnetsOption();
        var placement = new PlacementArguments();
        var run = new Command("run", "Place and start copies of a task definition") { taskdef, count, group, startedBy, launchType, strategy, wait, enableExec, timeout, securityGroups, subnets };
        placement.AddTo(run);
        actions.Set(run, async (parse, context, ct) =>
        {
            var request = new RunTaskRequest
            {
                Cluster = context.Cluster,
                TaskDefinition = parse.GetValue(taskdef),
                Count = parse.GetValue(count),
                Group = parse.GetValue(group) ?? string.Empty,
                StartedBy = parse.GetValue(startedBy) ?? string.Empty,
                LaunchType = parse.GetValue(launchType) ?? string.Empty,
                ClientToken = Guid.NewGuid().ToString("N"),
                EnableExecuteCommand = parse.GetValue(enableExec),
                NetworkConfiguration = SecurityGroupCommands.NetworkConfigurationOf(parse, securityGroups, subnets),
            };
            request.PlacementStrategy.AddRange(placement.StrategiesOf(parse));
            request.PlacementConstraints.AddRange(placement.ConstraintsOf(parse));
            request.CapacityProviderStrategy.AddRange(CapacityProviderStrategyArguments.Of(parse, strategy));
            var reply = await context.Scheduler.Tasks.RunTaskAsync(request, cancellationToken: ct);
            foreach (var failure in reply.Failures)
            {
                context.Output.Error.WriteLine($"not placed: {failure.Reason}{(failure.Detail.Length > 0 ? ": " + failure.Detail : string.Empty)}");
            }

            var tasks = reply.Tasks.ToList();
            var status = reply.Failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
            if (tasks.Count > 0 && parse.GetValue(wait))
            {
                (tasks, var allRunning) = await TaskWaiter.UntilRunningAsync(context, tasks, parse.GetValue(timeout), ct);
                status = allRunning ? status : ExitCodes.WaitFailed;
            }

            TaskTable.Print(context.Output, tasks);
            return tasks.Count == 0 ? ExitCodes.Failure : status;
        });
        return run;
    }

    private static Command List(CommandActions actions)
    {
        var family = new Option<string?>("--family") { Description = "Only tasks of this family" };
        var service = new Option<string?>("--service") { Description = "Only tasks of this service" };
        var instance = new Option<string?>("--instance") { Description = "Only tasks on this container instance" };
        var stopped = new Option<bool>("--stopped") { Description = "List tasks whose desired status is STOPPED instead of RUNNING" };
        var list = new Command("list", "List tasks with their status, instance and host ports") { family, service, instance, stopped };
        actions.Set(list, async (parse, context, ct) =>
        {
            var tasks = await ListAsync(context, new ListTasksRequest
            {
                Cluster = context.Cluster,
                Family = parse.GetValue(family) ?? string.Empty,
                ServiceName = parse.GetValue(service) ?? string.Empty,
                ContainerInstance = parse.GetValue(instance) ?? string.Empty,
                DesiredStatus = parse.GetValue(stopped) ? LifecycleStatus.Stopped : LifecycleStatus.Running,
            }, ct);
            TaskTable.Print(context.Output, tasks);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var ids = new Argument<string[]>("TASK") { Description = "Task ids or ARNs", Arity = ArgumentArity.OneOrMore };
        var describe = new Command("describe", "Describe tasks with their containers") { ids };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = context.Cluster, Tasks = { parse.GetValue(ids)! } }, cancellationToken: ct);
            if (reply.Tasks.Count == 0)
            {
                throw SchedulerClient.Missing("no task", reply.Failures);
            }

            TaskTable.Describe(context.Output, reply.Tasks);
            return reply.Failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return describe;
    }

    private static Command Stop(CommandActions actions)
    {
        var ids = new Argument<string[]>("TASK") { Description = "Task ids or ARNs", Arity = ArgumentArity.OneOrMore };
        var reason = new Option<string?>("--reason") { Description = "Why (saved as the stopped reason)" };
        var stop = new Command("stop", "Stop tasks (desired status STOPPED)") { ids, reason };
        actions.Set(stop, async (parse, context, ct) =>
        {
            var stopped = new List<TaskInfo>();
            foreach (var id in parse.GetValue(ids)!)
            {
                stopped.Add((await context.Scheduler.Tasks.StopTaskAsync(
                    new StopTaskRequest { Cluster = context.Cluster, Task = id, Reason = parse.GetValue(reason) ?? "Stopped with berth task stop" }, cancellationToken: ct)).Task);
            }

            TaskTable.Print(context.Output, stopped);
            // A service's task behind a load balancer drains before it is stopped (the scheduler keeps it RUNNING until then).
            foreach (var task in stopped.Where(t => t.DesiredStatus == LifecycleStatus.Running))
            {
                context.Output.Say($"{task.TaskId}: draining from its target groups first; it stops once nothing is in flight on it or the deregistration delay ends.");
            }

            return ExitCodes.Success;
        });
        return stop;
    }

    /// <summary>Every task matching <paramref name="request"/>, described.</summary>
    public static async Task<List<TaskInfo>> ListAsync(CliContext context, ListTasksRequest request, CancellationToken ct)
    {
        var arns = await SchedulerClient.AllPagesAsync<string>(async token =>
        {
            request.NextToken = token;
            var page = await context.Scheduler.Tasks.ListTasksAsync(request, cancellationToken: ct);
            return (page.TaskArns, page.NextToken);
        });
        var tasks = new List<TaskInfo>();
        foreach (var chunk in SchedulerClient.Chunks(arns, 100))
        {
            tasks.AddRange((await context.Scheduler.Tasks.DescribeTasksAsync(new DescribeTasksRequest { Cluster = request.Cluster, Tasks = { chunk } }, cancellationToken: ct)).Tasks);
        }

        return tasks;
    }

    public static Option<CliDuration> WaitTimeout() => new("--timeout")
    {
        Description = "How long --wait waits (e.g. 90s, 10m)",
        DefaultValueFactory = _ => TimeSpan.FromMinutes(10),
        CustomParser = result => Durations.Parse(result),
    };
}

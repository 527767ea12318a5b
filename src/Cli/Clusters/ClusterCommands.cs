using System.CommandLine;
using Berth.Cli.Common;
using Berth.Scheduler.V1;

namespace Berth.Cli.Clusters;

/// <summary><c>berth cluster create|list|describe|delete|put-capacity-providers|subnets</c>.</summary>
internal static class ClusterCommands
{
    /// <summary>
    /// The <c>--subnets</c> option of <c>berth task run</c> and <c>berth service create|update</c>: subnet ids (a zone of the
    /// cluster each, <c>berth cluster subnets</c>), repeated or comma-separated (ECS's awsvpcConfiguration.subnets).
    /// </summary>
    public static Option<string[]> SubnetsOption() => new("--subnets")
    {
        Description = "awsvpc only: subnet ids (subnet-..., comma-separated or repeated; see berth cluster subnets) whose zones the tasks are placed in (none: any zone)",
        AllowMultipleArgumentsPerToken = true,
    };

    public static Command Build(CommandActions actions)
    {
        var command = new Command("cluster", "Create, list, describe and delete clusters");

        var createName = new Argument<string>("NAME") { Description = "The cluster name" };
        var taskCidr = new Option<string>("--task-cidr") { Description = "The awsvpc task CIDR its hosts' task subnets come from (default: a free /16 of the scheduler's pool)" };
        var create = new Command("create", "Create a cluster (returns the existing one unchanged)") { createName, taskCidr };
        actions.Set(create, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Clusters.CreateClusterAsync(new CreateClusterRequest { ClusterName = parse.GetValue(createName), TaskCidr = parse.GetValue(taskCidr) ?? "" }, cancellationToken: ct);
            Print(context.Output, [reply.Cluster]);
            return ExitCodes.Success;
        });

        var list = new Command("list", "List clusters with their counts");
        actions.Set(list, async (_, context, ct) =>
        {
            var arns = await SchedulerClient.AllPagesAsync<string>(async token =>
            {
                var page = await context.Scheduler.Clusters.ListClustersAsync(new ListClustersRequest { NextToken = token }, cancellationToken: ct);
                return (page.ClusterArns, page.NextToken);
            });
            var clusters = new List<Cluster>();
            foreach (var chunk in SchedulerClient.Chunks(arns, 100))
            {
                clusters.AddRange((await context.Scheduler.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { chunk } }, cancellationToken: ct)).Clusters);
            }

            Print(context.Output, clusters);
            return ExitCodes.Success;
        });

        var describeNames = new Argument<string[]>("NAME") { Description = "Cluster names (the current cluster when none)", Arity = ArgumentArity.ZeroOrMore };
        var describe = new Command("describe", "Describe clusters") { describeNames };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var names = parse.GetValue(describeNames) is { Length: > 0 } given ? given : [context.Cluster];
            var reply = await context.Scheduler.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { names } }, cancellationToken: ct);
            if (reply.Clusters.Count == 0)
            {
                throw SchedulerClient.Missing("no cluster", reply.Failures);
            }

            Print(context.Output, reply.Clusters);
            return reply.Failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });

        var deleteName = new Argument<string>("NAME") { Description = "The cluster name" };
        var delete = new Command("delete", "Delete an empty cluster") { deleteName };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Clusters.DeleteClusterAsync(new DeleteClusterRequest { Cluster = parse.GetValue(deleteName) }, cancellationToken: ct);
            Print(context.Output, [reply.Cluster]);
            return ExitCodes.Success;
        });

        var providers = new Argument<string[]>("PROVIDER") { Description = "The capacity providers to associate (replacing the current list; none removes every one)", Arity = ArgumentArity.ZeroOrMore };
        var defaultStrategy = new Option<string[]>("--default-strategy")
        {
            Description = "An item of the default capacity provider strategy, repeatable: provider=NAME[,base=N][,weight=N]",
            AllowMultipleArgumentsPerToken = false,
        };
        var put = new Command("put-capacity-providers", "Set the cluster's capacity providers and default capacity provider strategy (ECS PutClusterCapacityProviders)") { providers, defaultStrategy };
        actions.Set(put, async (parse, context, ct) =>
        {
            var request = new PutClusterCapacityProvidersRequest
            {
                Cluster = context.Cluster,
                CapacityProviders = { parse.GetValue(providers) ?? [] },
                DefaultCapacityProviderStrategy = { (parse.GetValue(defaultStrategy) ?? []).Select(s => CapacityProviderStrategyArguments.Parse(s, "--default-strategy")) },
            };
            await context.Scheduler.CapacityProviders.PutClusterCapacityProvidersAsync(request, cancellationToken: ct);
            var reply = await context.Scheduler.Clusters.DescribeClustersAsync(new DescribeClustersRequest { Clusters = { context.Cluster } }, cancellationToken: ct);
            Print(context.Output, reply.Clusters);
            return ExitCodes.Success;
        });

        command.Add(create);
        command.Add(list);
        command.Add(describe);
        command.Add(delete);
        var subnetIds = new Argument<string[]>("SUBNET") { Description = "Subnet ids (all when none)", Arity = ArgumentArity.ZeroOrMore };
        var subnets = new Command("subnets", "List the cluster's subnets: one per zone of its hosts, with each host's task subnet (EC2 DescribeSubnets)") { subnetIds };
        actions.Set(subnets, async (parse, context, ct) =>
        {
            var reply = await context.Scheduler.Clusters.DescribeSubnetsAsync(new DescribeSubnetsRequest { Cluster = context.Cluster, SubnetIds = { parse.GetValue(subnetIds) ?? [] } }, cancellationToken: ct);
            PrintSubnets(context.Output, reply.Subnets);
            return ExitCodes.Success;
        });

        command.Add(put);
        command.Add(subnets);
        return command;
    }

    private static void PrintSubnets(CliOutput output, IReadOnlyCollection<Subnet> subnets)
    {
        if (output.IsJson)
        {
            output.Json(subnets);
            return;
        }

        output.Table(
            ["SUBNET", "ZONE", "CIDR", "HOSTS", "HOST TASK SUBNETS"],
            subnets.Select(s => (IReadOnlyList<string>)
            [
                s.SubnetId, s.AvailabilityZone, s.CidrBlock.Length > 0 ? s.CidrBlock : "-", Display.Num(s.Hosts.Count),
                s.Hosts.Any(h => h.TaskSubnet.Length > 0) ? string.Join(",", s.Hosts.Where(h => h.TaskSubnet.Length > 0).Select(h => h.TaskSubnet)) : "-",
            ]));
    }

    private static void Print(CliOutput output, IReadOnlyCollection<Cluster> clusters)
    {
        if (output.IsJson)
        {
            output.Json(clusters);
            return;
        }

        output.Table(
            ["NAME", "STATUS", "INSTANCES", "RUNNING", "PENDING", "SERVICES", "TASK CIDR", "CAPACITY PROVIDERS", "DEFAULT STRATEGY"],
            clusters.Select(c => (IReadOnlyList<string>)
            [
                c.Name, c.Status, Display.Num(c.RegisteredContainerInstancesCount), Display.Num(c.RunningTasksCount), Display.Num(c.PendingTasksCount), Display.Num(c.ActiveServicesCount),
                c.TaskCidr.Length > 0 ? c.TaskCidr : "-",
                c.CapacityProviders.Count > 0 ? string.Join(",", c.CapacityProviders) : "-",
                c.DefaultCapacityProviderStrategy.Count > 0 ? string.Join(" ", c.DefaultCapacityProviderStrategy.Select(i => $"{i.CapacityProvider}(base={i.Base},weight={i.Weight})")) : "-",
            ]));
    }
}

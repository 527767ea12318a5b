using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Berth.Cli.Common;
using Berth.Cli.Clusters;
using Berth.Cli.SecurityGroups;
using Berth.Cli.Tasks;
using Berth.Scheduler.V1;

namespace Berth.Cli.Services;

/// <summary><c>berth service create|update|delete|list|describe|events|scaling|metrics</c>.</summary>
internal static class ServiceCommands
{
    public static Command Build(CommandActions actions)
    {
        var command = new Command("service", "Create, update, delete and watch services (desired count kept, rolling deployments)");
        command.Add(Create(actions));
        command.Add(Update(actions));
        command.Add(Delete(actions));
        command.Add(List(actions));
        command.Add(Describe(actions));
        command.Add(Events(actions));
        command.Add(ScalingCommands.Build(actions));
        command.Add(ScalingCommands.Metrics(actions));
        return command;
    }

    private static Option<string> NameOption() => new("--name", "-s") { Description = "The service name", Required = true };

    private static Command Create(CommandActions actions)
    {
        var name = NameOption();
        var taskdef = new Option<string>("--taskdef", "-t") { Description = "FAMILY[:REVISION] or an ARN", Required = true };
        var desired = new Option<int>("--desired", "-n") { Description = "Tasks to keep running (REPLICA)", DefaultValueFactory = _ => 1 };
        var daemon = new Option<bool>("--daemon") { Description = "One task on every ACTIVE instance that meets the constraints (DAEMON)" };
        var deployment = new DeploymentArguments();
        var gracePeriod = GracePeriodOption("Seconds after a task starts during which failing container and load balancer health checks are ignored [default: 0]");
        var launchType = new Option<string?>("--launch-type") { Description = "EC2 or FARGATE (EC2, or the cluster's default capacity provider strategy, when neither this nor a strategy is given)" };
        var strategy = CapacityProviderStrategyArguments.StrategyOption();
        var enableExec = new Option<bool>("--enable-execute-command") { Description = "Allow `berth task exec` into the service's tasks (off by default, as ECS's enableExecuteCommand)" };
        var placement = new PlacementArguments();
        var loadBalancers = LoadBalancerOption();
        var securityGroups = SecurityGroupCommands.GroupsOption();
        var subnets = ClusterCommands.SubnetsOption();
        var create = new Command("create", "Create a service and its first deployment") { name, taskdef, desired, daemon, gracePeriod, launchType, strategy, enableExec, loadBalancers, securityGroups, subnets };
        placement.AddTo(create);
        deployment.AddTo(create);
        actions.Set(create, async (parse, context, ct) =>
        {
            var request = new CreateServiceRequest
            {
                Cluster = context.Cluster,
                ServiceName = parse.GetValue(name),
                TaskDefinition = parse.GetValue(taskdef),
                DesiredCount = parse.GetValue(desired),
                SchedulingStrategy = parse.GetValue(daemon) ? SchedulingStrategy.Daemon : SchedulingStrategy.Replica,
                DeploymentConfiguration = deployment.ConfigurationOf(parse),
                HealthCheckGracePeriodSeconds = parse.GetValue(gracePeriod) ?? 0,
                LaunchType = parse.GetValue(launchType) ?? string.Empty,
                ClientToken = Guid.NewGuid().ToString("N"),
                EnableExecuteCommand = parse.GetValue(enableExec),
                NetworkConfiguration = SecurityGroupCommands.NetworkConfigurationOf(parse, securityGroups, subnets),
            };
            request.PlacementStrategy.AddRange(placement.StrategiesOf(parse));
            request.PlacementConstraints.AddRange(placement.ConstraintsOf(parse));
            request.LoadBalancers.AddRange((parse.GetValue(loadBalancers) ?? []).Select(ParseLoadBalancer));
            request.CapacityProviderStrategy.AddRange(CapacityProviderStrategyArguments.Of(parse, strategy));
            var service = (await context.Scheduler.Services.CreateServiceAsync(request, cancellationToken: ct)).Service;
            return await FinishAsync(parse, deployment, context, service, ct);
        });
        return create;
    }

    private static Command Update(CommandActions actions)
    {
        var name = NameOption();
        var taskdef = new Option<string?>("--taskdef", "-t") { Description = "A new task definition: starts a rolling deployment" };
        var desired = new Option<int?>("--desired", "-n") { Description = "A new desired count (scales; no new deployment)" };
        var force = new Option<bool>("--force-new-deployment") { Description = "Start a deployment even if nothing changed (picks up a re-pushed tag)" };
        var gracePeriod = GracePeriodOption("A new health-check grace period in seconds (no new deployment, as in ECS)");
        var enableExec = new Option<bool?>("--enable-execute-command") { Description = "Allow (true) or refuse (false) `berth task exec` into tasks started from now on" };
        var deployment = new DeploymentArguments();
        var placement = new PlacementArguments();
        var loadBalancers = LoadBalancerOption();
        var securityGroups = SecurityGroupCommands.GroupsOption();
        var subnets = ClusterCommands.SubnetsOption();
        var strategy = CapacityProviderStrategyArguments.StrategyOption();
        var update = new Command("update", "Change a service: scale it, or roll out a new task definition") { name, taskdef, desired, force, gracePeriod, enableExec, loadBalancers, securityGroups, subnets, strategy };
        placement.AddTo(update);
        deployment.AddTo(update);
        actions.Set(update, async (parse, context, ct) =>
        {
            var request = new UpdateServiceRequest
            {
                Cluster = context.Cluster,
                Service = parse.GetValue(name),
                TaskDefinition = parse.GetValue(taskdef) ?? string.Empty,
                ForceNewDeployment = parse.GetValue(force),
                // Given (even empty: back to the default group) replaces the groups and starts a deployment if they differ.
                NetworkConfiguration = SecurityGroupCommands.NetworkConfigurationOf(parse, securityGroups, subnets),
            };
            if (parse.GetValue(desired) is { } count)
            {
                request.DesiredCount = count;
            }

            if (parse.GetValue(gracePeriod) is { } seconds)
            {
                request.HealthCheckGracePeriodSeconds = seconds;
            }

            if (parse.GetValue(enableExec) is { } exec)
            {
                request.EnableExecuteCommand = exec;
            }

            if (deployment.IsGiven(parse))
            {
                request.DeploymentConfiguration = deployment.ConfigurationOf(parse);
            }

            if (parse.GetResult(placement.Strategies) is not null)
            {
                request.PlacementStrategy.AddRange(placement.StrategiesOf(parse));
                request.PlacementStrategySet = true;
            }

            if (parse.GetResult(placement.Constraints) is not null)
            {
                request.PlacementConstraints.AddRange(placement.ConstraintsOf(parse));
                request.PlacementConstraintsSet = true;
            }

            if (parse.GetResult(loadBalancers) is not null)
            {
                request.LoadBalancers.AddRange((parse.GetValue(loadBalancers) ?? []).Where(v => v.Length > 0).Select(ParseLoadBalancer));
                request.LoadBalancersSet = true;
            }

            if (parse.GetResult(strategy) is not null)
            {
                // Tasks launched from now on follow it (no deployment, as in ECS); an empty value: back to the launch type.
                request.CapacityProviderStrategy.AddRange(CapacityProviderStrategyArguments.Of(parse, strategy));
                request.CapacityProviderStrategySet = true;
            }

            var service = (await context.Scheduler.Services.UpdateServiceAsync(request, cancellationToken: ct)).Service;
            return await FinishAsync(parse, deployment, context, service, ct);
        });
        return update;
    }

    /// <summary>
    /// ECS's <c>healthCheckGracePeriodSeconds</c>, spelled as the aws CLI spells it too. ECS takes it with or without load
    /// balancers (it covers container health checks as well), so only the range is checked here.
    /// </summary>
    private static Option<int?> GracePeriodOption(string description) => new("--health-check-grace-period", "--health-check-grace-period-seconds")
    {
        Description = description,
        HelpName = "SECONDS",
        CustomParser = ParseGracePeriod,
    };

    private static int? ParseGracePeriod(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds;
        }

        result.AddError($"--health-check-grace-period must be a number of seconds, 0-2147483647, not '{text}'.");
        return null;
    }

    private static Option<string[]> LoadBalancerOption() => new("--load-balancer")
    {
        Description = "Register the tasks with a target group: targetGroup=NAME|ARN,containerName=NAME,containerPort=PORT (repeatable; on update, \"\" removes all)",
    };

    /// <summary>ECS's <c>targetGroupArn=...,containerName=...,containerPort=...</c> shorthand (<c>targetGroup</c> takes a name or an ARN).</summary>
    internal static ServiceLoadBalancer ParseLoadBalancer(string value)
    {
        var link = new ServiceLoadBalancer();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var (key, item) = eq < 0 ? (part, "") : (part[..eq], part[(eq + 1)..]);
            switch (key)
            {
                case "targetGroup" or "targetGroupArn" or "targetGroupName":
                    link.TargetGroupArn = item;
                    break;
                case "containerName":
                    link.ContainerName = item;
                    break;
                case "containerPort":
                    link.ContainerPort = int.TryParse(item, out var port) ? port : throw new CliException($"--load-balancer: containerPort '{item}' is not a number.", ExitCodes.Usage);
                    break;
                default:
                    throw new CliException($"--load-balancer: unknown key '{key}'; use targetGroup=NAME,containerName=NAME,containerPort=PORT.", ExitCodes.Usage);
            }
        }

        if (link.TargetGroupArn.Length == 0 || link.ContainerName.Length == 0 || link.ContainerPort == 0)
        {
            throw new CliException($"--load-balancer '{value}': needs targetGroup, containerName and containerPort.", ExitCodes.Usage);
        }

        return link;
    }

    private static Command Delete(CommandActions actions)
    {
        var name = NameOption();
        var force = new Option<bool>("--force") { Description = "Delete even with a desired count above 0 (its tasks are stopped)" };
        var delete = new Command("delete", "Delete a service (DRAINING while its tasks stop, then INACTIVE)") { name, force };
        actions.Set(delete, async (parse, context, ct) =>
        {
            var service = (await context.Scheduler.Services.DeleteServiceAsync(
                new DeleteServiceRequest { Cluster = context.Cluster, Service = parse.GetValue(name), Force = parse.GetValue(force) }, cancellationToken: ct)).Service;
            ServiceTable.Print(context.Output, [service]);
            return ExitCodes.Success;
        });
        return delete;
    }

    private static Command List(CommandActions actions)
    {
        var list = new Command("list", "List the cluster's services with their counts");
        actions.Set(list, async (_, context, ct) =>
        {
            var arns = await SchedulerClient.AllPagesAsync<string>(async token =>
            {
                var page = await context.Scheduler.Services.ListServicesAsync(new ListServicesRequest { Cluster = context.Cluster, MaxResults = 100, NextToken = token }, cancellationToken: ct);
                return (page.ServiceArns, page.NextToken);
            });
            var services = new List<ServiceInfo>();
            foreach (var chunk in SchedulerClient.Chunks(arns, 10))
            {
                services.AddRange((await context.Scheduler.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = context.Cluster, Services = { chunk } }, cancellationToken: ct)).Services);
            }

            ServiceTable.Print(context.Output, services);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Describe(CommandActions actions)
    {
        var name = NameOption();
        var describe = new Command("describe", "Describe a service: settings, deployments and recent events") { name };
        actions.Set(describe, async (parse, context, ct) =>
        {
            var service = await DescribeOneAsync(context, parse.GetValue(name)!, ct);
            ServiceTable.Describe(context.Output, service);
            return ExitCodes.Success;
        });
        return describe;
    }

    private static Command Events(CommandActions actions)
    {
        var name = NameOption();
        var limit = new Option<int>("--limit") { Description = "How many of the newest events", DefaultValueFactory = _ => 20 };
        var events = new Command("events", "Show a service's events, newest last") { name, limit };
        actions.Set(events, async (parse, context, ct) =>
        {
            var service = await DescribeOneAsync(context, parse.GetValue(name)!, ct);
            var newest = service.Events.Take(parse.GetValue(limit)).Reverse().ToList();
            if (context.Output.IsJson)
            {
                context.Output.Json(newest);
            }
            else
            {
                context.Output.Table(["TIME", "MESSAGE"], newest.Select(e => (IReadOnlyList<string>)[Display.Time(e.CreatedAt), e.Message]));
            }

            return ExitCodes.Success;
        });
        return events;
    }

    public static async Task<ServiceInfo> DescribeOneAsync(CliContext context, string name, CancellationToken ct)
    {
        var reply = await context.Scheduler.Services.DescribeServicesAsync(new DescribeServicesRequest { Cluster = context.Cluster, Services = { name } }, cancellationToken: ct);
        return reply.Services.FirstOrDefault() ?? throw SchedulerClient.Missing($"no service in cluster '{context.Cluster}' named", reply.Failures);
    }

    /// <summary>Prints the service, or with --wait follows its deployment until steady or failed.</summary>
    private static async Task<int> FinishAsync(ParseResult parse, DeploymentArguments deployment, CliContext context, ServiceInfo service, CancellationToken ct)
    {
        if (!parse.GetValue(deployment.Wait))
        {
            ServiceTable.Print(context.Output, [service]);
            return ExitCodes.Success;
        }

        var (final, outcome) = await DeploymentWatcher.WaitAsync(context, service, parse.GetValue(deployment.Timeout), ct);
        ServiceTable.Print(context.Output, [final]);
        return outcome == DeploymentOutcome.Steady ? ExitCodes.Success : ExitCodes.WaitFailed;
    }
}

/// <summary>Deployment options shared by create and update: percentages, circuit breaker, --wait.</summary>
internal sealed class DeploymentArguments
{
    public Option<int?> MinHealthy { get; } = new("--min-healthy") { Description = "Percent of desired count that must stay running and healthy during a deployment (0-100)" };

    public Option<int?> MaxPercent { get; } = new("--max-percent") { Description = "Percent of desired count allowed running or pending during a deployment (100-200)" };

    public Option<bool> CircuitBreaker { get; } = new("--circuit-breaker") { Description = "Fail a deployment whose tasks keep failing" };

    public Option<bool> Rollback { get; } = new("--rollback") { Description = "With --circuit-breaker: roll back to the last completed deployment on failure" };

    public Option<bool> Wait { get; } = new("--wait") { Description = "Show the deployment's progress until it is steady (exit 0) or failed (exit 3)" };

    public Option<CliDuration> Timeout { get; } = TaskCommands.WaitTimeout();

    public void AddTo(Command command)
    {
        command.Add(MinHealthy);
        command.Add(MaxPercent);
        command.Add(CircuitBreaker);
        command.Add(Rollback);
        command.Add(Wait);
        command.Add(Timeout);
    }

    public bool IsGiven(ParseResult parse) =>
        parse.GetResult(MinHealthy) is not null || parse.GetResult(MaxPercent) is not null || parse.GetValue(CircuitBreaker) || parse.GetValue(Rollback);

    public DeploymentConfiguration ConfigurationOf(ParseResult parse)
    {
        if (parse.GetValue(Rollback) && !parse.GetValue(CircuitBreaker))
        {
            throw new CliException("--rollback needs --circuit-breaker.", ExitCodes.Usage);
        }

        var configuration = new DeploymentConfiguration();
        if (parse.GetValue(MinHealthy) is { } min)
        {
            configuration.MinimumHealthyPercent = min;
        }

        if (parse.GetValue(MaxPercent) is { } max)
        {
            configuration.MaximumPercent = max;
        }

        if (parse.GetValue(CircuitBreaker))
        {
            configuration.DeploymentCircuitBreaker = new DeploymentCircuitBreaker { Enable = true, Rollback = parse.GetValue(Rollback) };
        }

        return configuration;
    }
}

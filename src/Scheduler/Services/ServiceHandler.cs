using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Berth.Scheduler.CapacityProviders;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Networking;
using Berth.Scheduler.SecurityGroups;

namespace Berth.Scheduler.Services;

/// <summary>
/// Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices. They store the desired state
/// and deployments; the reconcile pass (<see cref="Reconcile.ServiceReconciler"/>) turns it into tasks. Every answer is
/// described under the same lock as the change it answers for: the reconciler may act on the service before the caller
/// hears back.
/// </summary>
internal sealed partial class ServiceHandler(StateKernel kernel, Fargate.FargatePool pool, ILogger<ServiceHandler> logger)
{
    private const int MaxDesiredCount = 10_000;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex NameRegex();

    public Task<T> CreateAsync<T>(CreateServiceCommand command, Func<ServiceRecord, ServiceCounts, T> view)
    {
        var cluster = Arns.ClusterName(command.Cluster);
        if (!NameRegex().IsMatch(command.ServiceName))
        {
            throw StateException.Invalid($"service_name: '{command.ServiceName}' must be 1-255 letters, digits, hyphens and underscores.");
        }

        if (string.IsNullOrEmpty(command.TaskDefinition))
        {
            throw StateException.Invalid("task_definition is required.");
        }

        var daemon = command.SchedulingStrategy == SchedulingStrategy.Daemon;
        if (!daemon && command.DesiredCount is < 0 or > MaxDesiredCount)
        {
            throw StateException.Invalid($"desired_count must be 0-{MaxDesiredCount}.");
        }

        ValidateDeploymentConfiguration(command.DeploymentConfiguration);
        if (daemon && command.PlacementStrategy.Length > 0)
        {
            throw StateException.Invalid("placement_strategy: DAEMON services take no placement strategies.");
        }

        var strategies = PlacementSpecs.ParseStrategies(command.PlacementStrategy);
        if (command.HealthCheckGracePeriodSeconds < 0)
        {
            throw StateException.Invalid("health_check_grace_period_seconds must be 0-2147483647.");
        }

        LaunchChoice.Check(command.LaunchType, command.CapacityProviderStrategy);
        if (daemon && command.CapacityProviderStrategy.Count > 0)
        {
            // ECS: the DAEMON scheduling strategy places one task per instance; it takes no capacity provider strategy.
            throw Ecs.InvalidParameter("The daemon scheduling strategy does not support a capacity provider strategy.");
        }

        if (command.ClientToken.Length > 64)
        {
            throw StateException.Invalid("client_token must be at most 64 characters.");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            tx.Cluster.RequireActive();
            if (tx.Cluster.Services.TryGetValue(command.ServiceName, out var existing) && existing.Status != Statuses.Inactive)
            {
                if (!string.IsNullOrEmpty(command.ClientToken) && existing.ClientToken == command.ClientToken)
                {
                    // An idempotent retry: the service the first call created.
                    return view(existing, ServiceRules.Count(tx.Cluster, tx.Definitions, existing));
                }

                throw new StateException(StateError.AlreadyExists, $"Service '{command.ServiceName}' already exists in cluster '{cluster}' ({existing.Status}).");
            }

            // A DAEMON service runs on every instance: the cluster's default strategy does not apply to it.
            var launch = daemon ? new LaunchChoice(command.LaunchType.Length > 0 ? command.LaunchType : "EC2", [])
                : LaunchChoice.Resolve(tx.Cluster, command.LaunchType, command.CapacityProviderStrategy);
            var definition = ResolveDefinition(tx.Definitions, command.TaskDefinition, launch.LaunchType);
            var constraints = PlacementSpecs.OwnConstraints(definition, command.PlacementConstraints);
            var loadBalancers = ResolveLoadBalancers(tx.Cluster, definition, command.LoadBalancers, given: true);
            var securityGroups = LaunchGroups.Validate(tx.Cluster, definition, command.SecurityGroups);
            var subnets = Subnets.Validate(tx.Cluster, pool.SubnetZones, definition, command.Subnets);
            var service = new ServiceRecord
            {
                Cluster = cluster,
                Name = command.ServiceName,
                ClientToken = string.IsNullOrEmpty(command.ClientToken) ? null : command.ClientToken,
                DesiredCount = daemon ? 0 : command.DesiredCount,
                TaskDefinitionArn = definition.Arn,
                SchedulingStrategy = daemon ? SchedulingStrategy.Daemon : SchedulingStrategy.Replica,
                DeploymentConfiguration = command.DeploymentConfiguration ?? new DeploymentSettings(),
                PlacementStrategy = command.PlacementStrategy,
                PlacementConstraints = command.PlacementConstraints,
                HealthCheckGracePeriodSeconds = command.HealthCheckGracePeriodSeconds,
                LaunchType = launch.LaunchType,
                CapacityProviderStrategy = launch.Strategy,
                CreatedAt = tx.Now,
                ReconnectPolicy = command.ReconnectPolicy ?? ReconnectPolicy.KeepReplacement,
                EnableExecuteCommand = command.EnableExecuteCommand,
                LoadBalancers = loadBalancers,
                SecurityGroups = securityGroups,
                Subnets = subnets,
                Strategies = strategies,
                Constraints = constraints,
            };
            ServiceRules.StartDeployment(service, definition, tx.Now, logger);
            tx.AddService(service);
            return view(service, ServiceRules.Count(tx.Cluster, tx.Definitions, service));
        });
    }

    public Task<T> UpdateAsync<T>(UpdateServiceCommand command, Func<ServiceRecord, ServiceCounts, T> view)
    {
        var cluster = Arns.ClusterName(command.Cluster);
        if (command.DesiredCount is < 0 or > MaxDesiredCount)
        {
            throw StateException.Invalid($"desired_count must be 0-{MaxDesiredCount}.");
        }

        ValidateDeploymentConfiguration(command.DeploymentConfiguration);
        if (command.CapacityProviderStrategy is { } newStrategy)
        {
            Ecs.Check(newStrategy);
        }

        var strategies = command.PlacementStrategy is { } given ? PlacementSpecs.ParseStrategies(given) : null;
        if (command.HealthCheckGracePeriodSeconds < 0)
        {
            throw StateException.Invalid("health_check_grace_period_seconds must be 0-2147483647.");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            var service = Find(tx.Cluster, command.Service);
            if (service.Status != Statuses.Active)
            {
                throw StateException.Precondition($"Service '{service.Name}' is {service.Status}; only an ACTIVE service can be updated.");
            }

            if (service.IsDaemon && command.DesiredCount is not null)
            {
                throw StateException.Invalid("desired_count: a DAEMON service runs one task per matching instance; its count cannot be set.");
            }

            if (service.IsDaemon && strategies is { Count: > 0 })
            {
                throw StateException.Invalid("placement_strategy: DAEMON services take no placement strategies.");
            }

            if (service.IsDaemon && command.CapacityProviderStrategy is { Count: > 0 })
            {
                throw Ecs.InvalidParameter("The daemon scheduling strategy does not support a capacity provider strategy.");
            }

            // Validate everything before changing anything: a refused update leaves the service as it was. An empty
            // strategy goes back to the service's launch type (ECS).
            var launch = command.CapacityProviderStrategy is { Count: > 0 } strategy
                ? LaunchChoice.Resolve(tx.Cluster, "", strategy)
                : new LaunchChoice(service.LaunchType, command.CapacityProviderStrategy is null ? service.CapacityProviderStrategy : []);
            var definition = string.IsNullOrEmpty(command.TaskDefinition)
                ? ServiceRules.DefinitionOf(tx.Definitions, service, service.Primary.TaskDefinitionArn)
                : ResolveDefinition(tx.Definitions, command.TaskDefinition, launch.LaunchType);
            if (launch.LaunchType != service.LaunchType)
            {
                // The running definition must support the new launch type too.
                ResolveDefinition(tx.Definitions, definition.Arn, launch.LaunchType);
            }

            var constraints = command.PlacementConstraints is { } newConstraints ? PlacementSpecs.OwnConstraints(definition, newConstraints) : null;
            if (constraints is null)
            {
                // The service's constraints with the (possibly new) task definition's must still be at most 10.
                PlacementSpecs.ParseConstraints(definition, service.PlacementConstraints);
            }

            // The links must fit the (possibly new) task definition; new links start a deployment, as in ECS.
            var loadBalancers = ResolveLoadBalancers(
                tx.Cluster,
                definition,
                command.LoadBalancers ?? [.. service.LoadBalancers.Select(l => new LoadBalancerLink(l.TargetGroupArn, l.ContainerName, l.ContainerPort))],
                given: command.LoadBalancers is not null);
            // The groups must fit the (possibly new) task definition too; new groups start a deployment, as in ECS.
            var securityGroups = LaunchGroups.Validate(tx.Cluster, definition, command.SecurityGroups ?? service.SecurityGroups);
            // New subnets must exist now; kept ones are not looked up again (a zone may have no host for a while, and the
            // service keeps to it), only checked against the (possibly new) task definition. New subnets start a deployment.
            ImmutableArray<SubnetRef> subnets;
            if (command.Subnets is { } newSubnets)
            {
                subnets = Subnets.Validate(tx.Cluster, pool.SubnetZones, definition, newSubnets);
            }
            else
            {
                Subnets.CheckKept(definition, service.Subnets);
                subnets = service.Subnets;
            }

            var deploy = command.ForceNewDeployment || definition.Arn != service.Primary.TaskDefinitionArn || !loadBalancers.SequenceEqual(service.LoadBalancers)
                || !securityGroups.SequenceEqual(service.SecurityGroups) || !subnets.SequenceEqual(service.Subnets);
            var unlinked = !service.LoadBalancers.All(loadBalancers.Contains);
            service.LoadBalancers = loadBalancers;
            if (unlinked)
            {
                ServiceTargets.DeregisterUnlinked(tx, service, logger);
            }

            service.SecurityGroups = securityGroups;
            service.Subnets = subnets;
            // As in ECS a new strategy starts no deployment: the tasks launched from now on follow it.
            service.LaunchType = launch.LaunchType;
            service.CapacityProviderStrategy = launch.Strategy;
            if (command.DesiredCount is { } count)
            {
                service.DesiredCount = count;
            }

            if (command.DeploymentConfiguration is { } configuration)
            {
                // Unset fields keep their value (the request's rule), here inside the configuration too.
                var current = service.DeploymentConfiguration;
                service.DeploymentConfiguration = new DeploymentSettings
                {
                    MinimumHealthyPercent = configuration.MinimumHealthyPercent ?? current.MinimumHealthyPercent,
                    MaximumPercent = configuration.MaximumPercent ?? current.MaximumPercent,
                    CircuitBreaker = configuration.CircuitBreaker ?? current.CircuitBreaker,
                };
                deploy = true;
            }

            if (strategies is not null)
            {
                service.PlacementStrategy = command.PlacementStrategy!.Value;
                service.Strategies = strategies;
                deploy = true;
            }

            if (constraints is not null)
            {
                service.PlacementConstraints = command.PlacementConstraints!.Value;
                service.Constraints = constraints;
                deploy = true;
            }

            if (command.HealthCheckGracePeriodSeconds is { } grace)
            {
                service.HealthCheckGracePeriodSeconds = grace;
            }

            if (command.ReconnectPolicy is { } policy)
            {
                service.ReconnectPolicy = policy;
            }

            if (command.EnableExecuteCommand is { } exec)
            {
                // As in ECS, running tasks keep what they were launched with: the change reaches tasks launched from
                // now on (a new deployment, e.g. --force-new-deployment, replaces the old ones).
                service.EnableExecuteCommand = exec;
            }

            if (deploy)
            {
                ServiceRules.StartDeployment(service, definition, tx.Now, logger);
            }
            else
            {
                ServiceRules.SetDesiredCount(service, service.DesiredCount, tx.Now);
            }

            // A new count or deployment means the service has to show it reaches a steady state again.
            service.Steady = false;
            tx.Save(service);
            return view(service, ServiceRules.Count(tx.Cluster, tx.Definitions, service));
        });
    }

    public Task<T> DeleteAsync<T>(string clusterReference, string reference, bool force, Func<ServiceRecord, ServiceCounts, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (string.IsNullOrEmpty(reference))
        {
            throw StateException.Invalid("service is required.");
        }

        return kernel.CommitAsync(cluster, tx =>
        {
            var service = Find(tx.Cluster, reference);
            if (service.Status == Statuses.Inactive)
            {
                throw StateException.Precondition($"Service '{service.Name}' is INACTIVE (already deleted).");
            }

            if (service.Status != Statuses.Draining)
            {
                if (!service.IsDaemon && service.DesiredCount > 0 && !force)
                {
                    throw StateException.Precondition(
                        $"Service '{service.Name}' has a desired count of {service.DesiredCount}; scale it to 0 first or delete with force.");
                }

                service.Status = Statuses.Draining;
                service.DesiredCount = 0;
                service.Primary.DesiredCount = 0;
                service.Steady = false;
                tx.Save(service);

                // Its scalable target goes with it (the ECS console deregisters it too): a later service of the same
                // name starts without bounds and policies it never asked for.
                tx.RemoveScalableTarget(service.Name);
            }

            return view(service, ServiceRules.Count(tx.Cluster, tx.Definitions, service));
        });
    }

    public (List<T> Found, List<Failure> Failures) Describe<T>(string clusterReference, IReadOnlyList<string> references, Func<ServiceRecord, ServiceCounts, T> view)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (references.Count is 0 or > 10)
        {
            throw StateException.Invalid("services: between 1 and 10 entries.");
        }

        return kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{cluster}' not found.");
            }

            var found = new List<T>();
            var failures = new List<Failure>();
            foreach (var reference in references)
            {
                if (state.Services.TryGetValue(Arns.Id(reference), out var service))
                {
                    found.Add(view(service, ServiceRules.Count(state, kernel.Definitions, service)));
                }
                else
                {
                    failures.Add(new Failure(reference, "MISSING", $"Service '{reference}' not found in cluster '{cluster}'."));
                }
            }

            return (found, failures);
        });
    }

    public (IReadOnlyList<string> Arns, string NextToken) List(ListServicesQuery query)
    {
        var cluster = Arns.ClusterName(query.Cluster);
        if (!string.IsNullOrEmpty(query.LaunchType) && query.LaunchType is not ("EC2" or "FARGATE"))
        {
            throw StateException.Invalid("launch_type must be EC2 or FARGATE.");
        }

        return kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{cluster}' not found.");
            }

            var matching = state.Services.Values
                .Where(s => s.Status != Statuses.Inactive)
                .Where(s => query.SchedulingStrategy is not { } strategy || s.SchedulingStrategy == strategy)
                // ECS: a service launched by a capacity provider strategy has no launch type to match.
                .Where(s => string.IsNullOrEmpty(query.LaunchType) || (s.LaunchType == query.LaunchType && s.CapacityProviderStrategy.Count == 0))
                .OrderBy(s => s.Name, StringComparer.Ordinal);
            // ECS's page size is 10 when none is given.
            var (page, next) = Paging.Page(matching, query.MaxResults == 0 ? 10 : query.MaxResults, query.NextToken, s => s.Name);
            return ((IReadOnlyList<string>)page.Select(s => s.Arn).ToList(), next);
        });
    }

    /// <summary>Drops service events older than <paramref name="before"/> (bounded state), one commit per cluster.</summary>
    public async Task TrimEventsAsync(DateTimeOffset before)
    {
        foreach (var cluster in kernel.ClusterNames)
        {
            await kernel.CommitAsync(cluster, tx =>
            {
                foreach (var service in tx.Cluster.Services.Values)
                {
                    if (ServiceRules.TrimEvents(service, before))
                    {
                        tx.Save(service);
                    }
                }

                return true;
            });
        }
    }

    private static ServiceRecord Find(ClusterState cluster, string reference)
    {
        cluster.RequireActive();
        if (string.IsNullOrEmpty(reference))
        {
            throw StateException.Invalid("service is required.");
        }

        return cluster.Services.TryGetValue(Arns.Id(reference), out var service)
            ? service
            : throw StateException.NotFound($"Service '{reference}' not found in cluster '{cluster.Name}'.");
    }

    private static void ValidateDeploymentConfiguration(DeploymentSettings? configuration)
    {
        if (configuration is null)
        {
            return;
        }

        if (configuration.MinimumHealthyPercent is < 0 or > 100)
        {
            throw StateException.Invalid("deployment_configuration.minimum_healthy_percent must be 0-100.");
        }

        if (configuration.MaximumPercent is < 100 or > 200)
        {
            throw StateException.Invalid("deployment_configuration.maximum_percent must be 100-200.");
        }
    }

    /// <summary>
    /// ECS loadBalancers: at most 5; each names a target group of the service's cluster (ARN or name) and a container
    /// of the task definition that maps the port over TCP. Links given in the call (<paramref name="given"/>) must also
    /// name a group some load balancer forwards to; a service's own links are kept when a listener later goes.
    /// </summary>
    private static ImmutableArray<ServiceLoadBalancer> ResolveLoadBalancers(ClusterState cluster, TaskDefinitionRecord definition, ImmutableArray<LoadBalancerLink> links, bool given)
    {
        if (links.Length > 5)
        {
            throw StateException.Invalid("load_balancers: a service takes at most 5 load balancer entries.");
        }

        var result = ImmutableArray.CreateBuilder<ServiceLoadBalancer>(links.Length);
        for (var i = 0; i < links.Length; i++)
        {
            var link = links[i];
            var field = $"load_balancers[{i}]";
            if (string.IsNullOrEmpty(link.TargetGroup))
            {
                throw StateException.Invalid($"{field}.target_group_arn: a target group (ARN or name) is required.");
            }

            var group = LoadBalancingHandler.FindTargetGroup(cluster.LoadBalancing, link.TargetGroup)
                ?? throw Elb.NotFound("TargetGroupNotFound", $"{field}.target_group_arn", $"target group '{Elb.Printable(link.TargetGroup)}' not found in cluster '{cluster.Name}'.");
            // ECS refuses a target group no load balancer forwards to: its targets would stay 'unused', never healthy,
            // and the service's deployments would wait for them forever.
            if (given && cluster.LoadBalancing.LoadBalancersOf(group.Arn).Count == 0)
            {
                throw StateException.Invalid($"{field}.target_group_arn: The target group with targetGroupArn {group.Arn} does not have an associated load balancer.");
            }

            // ECS: an awsvpc task is reached at its own address (an ip target), a bridge or host task at its instance's
            // address and a host port (an instance target); a group of the other type could never reach the tasks.
            var networkMode = definition.Definition.NetworkMode ?? "bridge";
            var needed = networkMode == "awsvpc" ? TargetTypeKind.Ip : TargetTypeKind.Instance;
            if (group.TargetType != needed)
            {
                var type = group.TargetType == TargetTypeKind.Ip ? "ip" : "instance";
                throw StateException.Invalid($"{field}.target_group_arn: The provided target group {group.Arn} has target type {type}, which is incompatible with the {networkMode} network mode specified in the task definition.");
            }

            var container = definition.Definition.ContainerDefinitions?.FirstOrDefault(c => c.Name == link.ContainerName)
                ?? throw StateException.Invalid($"{field}.container_name: task definition {definition.Family}:{definition.Revision} has no container '{Elb.Printable(link.ContainerName)}'.");
            var mapping = container.PortMappings?.FirstOrDefault(m => m.ContainerPort == link.ContainerPort);
            if (mapping is null)
            {
                throw StateException.Invalid($"{field}.container_port: container '{link.ContainerName}' of {definition.Family}:{definition.Revision} does not expose port {link.ContainerPort}.");
            }

            if (mapping.EffectiveProtocol != "tcp")
            {
                throw StateException.Invalid($"{field}.container_port: target group '{group.Name}' speaks {group.Protocol.ToString().ToUpperInvariant()} over TCP; port {link.ContainerPort} is {mapping.EffectiveProtocol}.");
            }

            var resolved = new ServiceLoadBalancer(group.Arn, link.ContainerName, link.ContainerPort);
            if (result.Contains(resolved))
            {
                throw StateException.Invalid($"{field}: the same target group, container and port appear twice.");
            }

            result.Add(resolved);
        }

        return result.ToImmutable();
    }

    private static TaskDefinitionRecord ResolveDefinition(TaskDefinitionCatalog catalog, string reference, string launchType)
    {
        var definition = catalog.Resolve(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");
        if (!definition.IsActive)
        {
            throw StateException.Invalid($"task_definition: '{definition.Arn}' is INACTIVE.");
        }

        if (launchType == "FARGATE" && !(definition.Definition.RequiresCompatibilities?.Contains("FARGATE") ?? false))
        {
            throw StateException.Invalid($"task_definition: '{definition.Arn}' does not support the FARGATE launch type (requiresCompatibilities).");
        }

        return definition;
    }
}

/// <summary>CreateService, as the scheduler takes it.</summary>
internal sealed record CreateServiceCommand
{
    public string Cluster { get; init; } = "";

    public string ServiceName { get; init; } = "";

    public string TaskDefinition { get; init; } = "";

    public int DesiredCount { get; init; }

    public SchedulingStrategy SchedulingStrategy { get; init; } = SchedulingStrategy.Replica;

    public DeploymentSettings? DeploymentConfiguration { get; init; }

    public ImmutableArray<PlacementSpec> PlacementStrategy { get; init; } = [];

    public ImmutableArray<PlacementSpec> PlacementConstraints { get; init; } = [];

    public int HealthCheckGracePeriodSeconds { get; init; }

    public string LaunchType { get; init; } = "";

    public string ClientToken { get; init; } = "";

    /// <summary>ECS capacityProviderStrategy; empty: the launch type, or the cluster's default strategy when neither is given.</summary>
    public IReadOnlyList<StrategyItem> CapacityProviderStrategy { get; init; } = [];

    public ReconnectPolicy? ReconnectPolicy { get; init; }

    public bool EnableExecuteCommand { get; init; }

    public ImmutableArray<LoadBalancerLink> LoadBalancers { get; init; } = [];

    /// <summary>networkConfiguration.awsvpcConfiguration.securityGroups (ids); empty: the cluster's default group.</summary>
    public ImmutableArray<string> SecurityGroups { get; init; } = [];

    /// <summary>networkConfiguration.awsvpcConfiguration.subnets (ids); empty: any zone.</summary>
    public ImmutableArray<string> Subnets { get; init; } = [];
}

/// <summary>An ECS loadBalancers entry as given: target group by ARN or name, container name and port.</summary>
internal sealed record LoadBalancerLink(string TargetGroup, string ContainerName, int ContainerPort);

/// <summary>UpdateService: null (or empty) means "keep".</summary>
internal sealed record UpdateServiceCommand
{
    public string Cluster { get; init; } = "";

    public string Service { get; init; } = "";

    public string TaskDefinition { get; init; } = "";

    public int? DesiredCount { get; init; }

    public DeploymentSettings? DeploymentConfiguration { get; init; }

    public ImmutableArray<PlacementSpec>? PlacementStrategy { get; init; }

    public ImmutableArray<PlacementSpec>? PlacementConstraints { get; init; }

    public bool ForceNewDeployment { get; init; }

    public int? HealthCheckGracePeriodSeconds { get; init; }

    public ReconnectPolicy? ReconnectPolicy { get; init; }

    public bool? EnableExecuteCommand { get; init; }

    /// <summary>New load balancer links (replacing the old; empty removes them), or null to keep.</summary>
    public ImmutableArray<LoadBalancerLink>? LoadBalancers { get; init; }

    /// <summary>New security groups (replacing the old; empty: the cluster's default group), or null to keep.</summary>
    public ImmutableArray<string>? SecurityGroups { get; init; }

    /// <summary>New subnets (replacing the old; empty: any zone), or null to keep.</summary>
    public ImmutableArray<string>? Subnets { get; init; }

    /// <summary>A new capacity provider strategy (empty: back to the launch type), or null to keep.</summary>
    public IReadOnlyList<StrategyItem>? CapacityProviderStrategy { get; init; }
}

/// <summary>ListServices's filters.</summary>
internal sealed record ListServicesQuery
{
    public string Cluster { get; init; } = "";

    public SchedulingStrategy? SchedulingStrategy { get; init; }

    public string LaunchType { get; init; } = "";

    public int MaxResults { get; init; }

    public string NextToken { get; init; } = "";
}

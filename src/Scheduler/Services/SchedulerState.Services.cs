using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Berth.Scheduler.State.Persistence;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Scheduler.State;

// Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices. The reconciler
// (SchedulerState.Reconcile.cs) turns what these store into tasks.
internal sealed partial class SchedulerState
{
    private const int MaxDesiredCount = 10_000;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,255}$")]
    private static partial Regex ServiceNameRegex();

    public async Task<ServiceInfo> CreateServiceAsync(CreateServiceRequest request)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        if (!ServiceNameRegex().IsMatch(request.ServiceName))
        {
            throw StateException.Invalid($"service_name: '{request.ServiceName}' must be 1-255 letters, digits, hyphens and underscores.");
        }

        if (string.IsNullOrEmpty(request.TaskDefinition))
        {
            throw StateException.Invalid("task_definition is required.");
        }

        var daemon = request.SchedulingStrategy switch
        {
            SchedulingStrategy.Unspecified or SchedulingStrategy.Replica => false,
            SchedulingStrategy.Daemon => true,
            _ => throw StateException.Invalid("scheduling_strategy must be REPLICA or DAEMON."),
        };
        if (!daemon && request.DesiredCount is < 0 or > MaxDesiredCount)
        {
            throw StateException.Invalid($"desired_count must be 0-{MaxDesiredCount}.");
        }

        ValidateDeploymentConfiguration(request.DeploymentConfiguration);
        if (daemon && request.PlacementStrategy.Count > 0)
        {
            throw StateException.Invalid("placement_strategy: DAEMON services take no placement strategies.");
        }

        var strategies = ParseStrategies(request.PlacementStrategy);
        if (request.HealthCheckGracePeriodSeconds < 0)
        {
            throw StateException.Invalid("health_check_grace_period_seconds must be 0-2147483647.");
        }

        var launchType = string.IsNullOrEmpty(request.LaunchType) ? "EC2" : request.LaunchType;
        if (launchType is not ("EC2" or "FARGATE"))
        {
            throw StateException.Invalid("launch_type must be EC2 or FARGATE.");
        }

        ValidateReconnectPolicy(request.ReconnectPolicy);
        if (request.ClientToken.Length > 64)
        {
            throw StateException.Invalid("client_token must be at most 64 characters.");
        }

        ServiceInfo answer;
        Task commit;
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            var key = ServiceRecord.KeyOf(cluster, request.ServiceName);
            if (_services.TryGetValue(key, out var existing) && existing.Info.Status != ServiceStatuses.Inactive)
            {
                if (!string.IsNullOrEmpty(request.ClientToken) && existing.ClientToken == request.ClientToken)
                {
                    // An idempotent retry: the service the first call created.
                    return DescribeLocked(existing);
                }

                throw new StateException(StateError.AlreadyExists, $"Service '{request.ServiceName}' already exists in cluster '{cluster}' ({existing.Info.Status}).");
            }

            var definition = ResolveServiceDefinitionLocked(request.TaskDefinition, launchType);
            var constraints = ParseConstraints(definition, request.PlacementConstraints);
            var now = Now;
            var info = new ServiceInfo
            {
                ServiceName = request.ServiceName,
                ServiceArn = Arns.Service(cluster, request.ServiceName),
                Cluster = cluster,
                Status = ServiceStatuses.Active,
                DesiredCount = daemon ? 0 : request.DesiredCount,
                TaskDefinition = definition.Arn,
                SchedulingStrategy = daemon ? SchedulingStrategy.Daemon : SchedulingStrategy.Replica,
                DeploymentConfiguration = request.DeploymentConfiguration?.Clone() ?? new DeploymentConfiguration(),
                HealthCheckGracePeriodSeconds = request.HealthCheckGracePeriodSeconds,
                LaunchType = launchType,
                CreatedAt = Ts(now),
                ReconnectPolicy = request.ReconnectPolicy == ReconnectPolicy.Unspecified ? ReconnectPolicy.KeepReplacement : request.ReconnectPolicy,
            };
            info.PlacementStrategy.AddRange(request.PlacementStrategy);
            info.PlacementConstraints.AddRange(request.PlacementConstraints);
            var service = new ServiceRecord
            {
                Cluster = cluster,
                Name = request.ServiceName,
                ClientToken = string.IsNullOrEmpty(request.ClientToken) ? null : request.ClientToken,
                Info = info,
                Strategies = strategies,
                Constraints = constraints.Skip(definition.Definition.PlacementConstraints?.Count ?? 0).ToList(),
            };
            service.Definitions[definition.Arn] = definition;
            StartDeploymentLocked(service, definition, now);
            _services[key] = service;
            (commit, answer) = QueueServiceLocked(service);
        }

        // Described under the same lock as the change: the reconciler may act on the service before the caller hears back.
        await DurableAsync(commit);
        return answer;
    }

    public async Task<ServiceInfo> UpdateServiceAsync(UpdateServiceRequest request)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        if (request.HasDesiredCount && request.DesiredCount is < 0 or > MaxDesiredCount)
        {
            throw StateException.Invalid($"desired_count must be 0-{MaxDesiredCount}.");
        }

        ValidateDeploymentConfiguration(request.DeploymentConfiguration);
        var strategies = request.PlacementStrategySet ? ParseStrategies(request.PlacementStrategy) : null;
        if (request.HasHealthCheckGracePeriodSeconds && request.HealthCheckGracePeriodSeconds < 0)
        {
            throw StateException.Invalid("health_check_grace_period_seconds must be 0-2147483647.");
        }

        ValidateReconnectPolicy(request.ReconnectPolicy);
        ServiceInfo answer;
        Task commit;
        lock (_gate)
        {
            var service = ActiveServiceLocked(cluster, request.Service);
            if (service.IsDaemon && request.HasDesiredCount)
            {
                throw StateException.Invalid("desired_count: a DAEMON service runs one task per matching instance; its count cannot be set.");
            }

            if (service.IsDaemon && strategies is { Count: > 0 })
            {
                throw StateException.Invalid("placement_strategy: DAEMON services take no placement strategies.");
            }

            // Validate everything before changing anything: a refused update leaves the service as it was.
            var definition = string.IsNullOrEmpty(request.TaskDefinition)
                ? DefinitionLocked(service, service.Primary.TaskDefinition)
                : ResolveServiceDefinitionLocked(request.TaskDefinition, service.Info.LaunchType);
            var constraints = request.PlacementConstraintsSet
                ? ParseConstraints(definition, request.PlacementConstraints).Skip(definition.Definition.PlacementConstraints?.Count ?? 0).ToList()
                : null;
            if (constraints is null)
            {
                // The service's constraints with the (possibly new) task definition's must still be at most 10.
                ParseConstraints(definition, service.Info.PlacementConstraints);
            }

            var info = service.Info;
            var deploy = request.ForceNewDeployment || definition.Arn != service.Primary.TaskDefinition;
            if (request.HasDesiredCount)
            {
                info.DesiredCount = request.DesiredCount;
            }

            if (request.DeploymentConfiguration is { } configuration)
            {
                info.DeploymentConfiguration = configuration.Clone();
                deploy = true;
            }

            if (strategies is not null)
            {
                info.PlacementStrategy.Clear();
                info.PlacementStrategy.AddRange(request.PlacementStrategy);
                service.Strategies = strategies;
                deploy = true;
            }

            if (constraints is not null)
            {
                info.PlacementConstraints.Clear();
                info.PlacementConstraints.AddRange(request.PlacementConstraints);
                service.Constraints = constraints;
                deploy = true;
            }

            if (request.HasHealthCheckGracePeriodSeconds)
            {
                info.HealthCheckGracePeriodSeconds = request.HealthCheckGracePeriodSeconds;
            }

            if (request.ReconnectPolicy != ReconnectPolicy.Unspecified)
            {
                info.ReconnectPolicy = request.ReconnectPolicy;
            }

            if (deploy)
            {
                StartDeploymentLocked(service, definition, Now);
            }
            else
            {
                service.Primary.DesiredCount = info.DesiredCount;
                service.Primary.UpdatedAt = Ts(Now);
            }

            // A new count or deployment means the service has to show it reaches a steady state again.
            service.Steady = false;
            (commit, answer) = QueueServiceLocked(service);
        }

        // Described under the same lock as the change: the reconciler may act on the service before the caller hears back.
        await DurableAsync(commit);
        return answer;
    }

    public async Task<ServiceInfo> DeleteServiceAsync(string clusterReference, string reference, bool force)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (string.IsNullOrEmpty(reference))
        {
            throw StateException.Invalid("service is required.");
        }

        ServiceInfo answer;
        Task commit;
        lock (_gate)
        {
            var service = ServiceLocked(cluster, reference);
            if (service.Info.Status == ServiceStatuses.Inactive)
            {
                throw StateException.Precondition($"Service '{service.Name}' is INACTIVE (already deleted).");
            }

            if (service.Info.Status == ServiceStatuses.Draining)
            {
                return DescribeLocked(service);
            }

            if (!service.IsDaemon && service.Info.DesiredCount > 0 && !force)
            {
                throw StateException.Precondition(
                    $"Service '{service.Name}' has a desired count of {service.Info.DesiredCount}; scale it to 0 first or delete with force.");
            }

            service.Info.Status = ServiceStatuses.Draining;
            service.Info.DesiredCount = 0;
            service.Primary.DesiredCount = 0;
            service.Steady = false;
            (commit, answer) = QueueServiceLocked(service);
        }

        // Described under the same lock as the change: the reconciler may act on the service before the caller hears back.
        await DurableAsync(commit);
        return answer;
    }

    public (List<ServiceInfo> Found, List<Failure> Failures) DescribeServices(string clusterReference, IReadOnlyList<string> references)
    {
        var cluster = Arns.ClusterName(clusterReference);
        if (references.Count is 0 or > 10)
        {
            throw StateException.Invalid("services: between 1 and 10 entries.");
        }

        var found = new List<ServiceInfo>();
        var failures = new List<Failure>();
        lock (_gate)
        {
            RequireClusterLocked(cluster);
            foreach (var reference in references)
            {
                if (_services.TryGetValue(ServiceRecord.KeyOf(cluster, Arns.Id(reference)), out var service))
                {
                    found.Add(DescribeLocked(service));
                }
                else
                {
                    failures.Add(new Failure { Arn = reference, Reason = "MISSING", Detail = $"Service '{reference}' not found in cluster '{cluster}'." });
                }
            }
        }

        return (found, failures);
    }

    public (IReadOnlyList<string> Arns, string NextToken) ListServices(ListServicesRequest request)
    {
        var cluster = Arns.ClusterName(request.Cluster);
        if (!string.IsNullOrEmpty(request.LaunchType) && request.LaunchType is not ("EC2" or "FARGATE"))
        {
            throw StateException.Invalid("launch_type must be EC2 or FARGATE.");
        }

        lock (_gate)
        {
            RequireClusterLocked(cluster);
            var matching = _services.Values
                .Where(s => s.Cluster == cluster && s.Info.Status != ServiceStatuses.Inactive)
                .Where(s => request.SchedulingStrategy == SchedulingStrategy.Unspecified || s.Info.SchedulingStrategy == request.SchedulingStrategy)
                .Where(s => string.IsNullOrEmpty(request.LaunchType) || s.Info.LaunchType == request.LaunchType)
                .OrderBy(s => s.Name, StringComparer.Ordinal);
            // ECS's page size is 10 when none is given.
            var (page, next) = Paging.Page(matching, request.MaxResults == 0 ? 10 : request.MaxResults, request.NextToken, s => s.Name);
            return (page.Select(s => s.Arn).ToList(), next);
        }
    }

    /// <summary>Queues the service's row, and describes it under the same lock as the change it answers for.</summary>
    private (Task Commit, ServiceInfo Answer) QueueServiceLocked(ServiceRecord service)
    {
        var changes = new ChangeSet();
        changes.Services.Add(ToRow(service));
        return (Queue(changes), DescribeLocked(service));
    }

    private static void ValidateDeploymentConfiguration(DeploymentConfiguration? configuration)
    {
        if (configuration is null)
        {
            return;
        }

        if (configuration.HasMinimumHealthyPercent && configuration.MinimumHealthyPercent is < 0 or > 100)
        {
            throw StateException.Invalid("deployment_configuration.minimum_healthy_percent must be 0-100.");
        }

        if (configuration.HasMaximumPercent && configuration.MaximumPercent is < 100 or > 200)
        {
            throw StateException.Invalid("deployment_configuration.maximum_percent must be 100-200.");
        }
    }

    private static void ValidateReconnectPolicy(ReconnectPolicy policy)
    {
        if (policy is not (ReconnectPolicy.Unspecified or ReconnectPolicy.KeepReplacement or ReconnectPolicy.KeepOriginal))
        {
            throw StateException.Invalid("reconnect_policy must be KEEP_REPLACEMENT or KEEP_ORIGINAL.");
        }
    }

    /// <summary>Resolves a service's task definition: it must exist, be ACTIVE and support the launch type.</summary>
    private TaskDefinitionRecord ResolveServiceDefinitionLocked(string reference, string launchType)
    {
        var definition = ResolveDefinitionLocked(reference) ?? throw StateException.NotFound($"Task definition '{reference}' not found.");
        if (definition.Status != "ACTIVE")
        {
            throw StateException.Invalid($"task_definition: '{definition.Arn}' is INACTIVE.");
        }

        if (launchType == "FARGATE" && !(definition.Definition.RequiresCompatibilities?.Contains("FARGATE") ?? false))
        {
            throw StateException.Invalid($"task_definition: '{definition.Arn}' does not support the FARGATE launch type (requiresCompatibilities).");
        }

        return definition;
    }

    /// <summary>A service's task definition by ARN, resolved once per service.</summary>
    private TaskDefinitionRecord DefinitionLocked(ServiceRecord service, string arn)
    {
        if (!service.Definitions.TryGetValue(arn, out var definition))
        {
            // Deregistering a revision does not stop the services running it (ECS), so INACTIVE ones resolve too.
            definition = ResolveDefinitionLocked(arn) ?? throw new InvalidOperationException($"Service '{service.Name}' runs unknown task definition '{arn}'.");
            service.Definitions[arn] = definition;
        }

        return definition;
    }

    private ServiceRecord ServiceLocked(string cluster, string reference)
    {
        RequireClusterLocked(cluster);
        if (string.IsNullOrEmpty(reference))
        {
            throw StateException.Invalid("service is required.");
        }

        return _services.TryGetValue(ServiceRecord.KeyOf(cluster, Arns.Id(reference)), out var service)
            ? service
            : throw StateException.NotFound($"Service '{reference}' not found in cluster '{cluster}'.");
    }

    private ServiceRecord ActiveServiceLocked(string cluster, string reference)
    {
        var service = ServiceLocked(cluster, reference);
        return service.Info.Status == ServiceStatuses.Active
            ? service
            : throw StateException.Precondition($"Service '{service.Name}' is {service.Info.Status}; only an ACTIVE service can be updated.");
    }

    /// <summary>Makes a new PRIMARY deployment of <paramref name="definition"/>; the previous PRIMARY becomes ACTIVE.</summary>
    private Deployment StartDeploymentLocked(ServiceRecord service, TaskDefinitionRecord definition, DateTimeOffset now, string? reason = null)
    {
        service.Definitions[definition.Arn] = definition;
        var deployments = service.Info.Deployments;
        if (deployments.Count > 0)
        {
            deployments[0].Status = ServiceStatuses.Active;
            deployments[0].DesiredCount = 0;
            deployments[0].UpdatedAt = Ts(now);
        }

        var deployment = new Deployment
        {
            Id = NewDeploymentId(),
            Status = ServiceStatuses.Primary,
            TaskDefinition = definition.Arn,
            DesiredCount = service.Info.DesiredCount,
            RolloutState = ServiceStatuses.InProgress,
            CreatedAt = Ts(now),
            UpdatedAt = Ts(now),
            LaunchType = service.Info.LaunchType,
        };
        deployment.RolloutStateReason = reason ?? $"ECS deployment {deployment.Id} in progress.";
        deployments.Insert(0, deployment);
        service.Info.TaskDefinition = definition.Arn;
        TrimDeploymentsLocked(service);
        AddEventLocked(service, $"(service {service.Name}) (deployment {deployment.Id}) deployment started with {definition.Family}:{definition.Revision}.", now, TimeSpan.Zero);
        return deployment;
    }

    /// <summary>Drops the oldest INACTIVE deployments beyond the limit, never the latest COMPLETED one (the rollback target).</summary>
    private static void TrimDeploymentsLocked(ServiceRecord service)
    {
        var deployments = service.Info.Deployments;
        var lastCompleted = deployments.Skip(1).FirstOrDefault(d => d.RolloutState == ServiceStatuses.Completed);
        for (var i = deployments.Count - 1; i > 0 && deployments.Count > ServiceRecord.MaxDeployments; i--)
        {
            if (deployments[i].Status == ServiceStatuses.Inactive && deployments[i] != lastCompleted)
            {
                deployments.RemoveAt(i);
            }
        }
    }

    // ECS deployment ids: `ecs-svc/` and 19 digits.
    private static string NewDeploymentId() =>
        "ecs-svc/" + ((BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) % 9_000_000_000_000_000_000UL) + 1_000_000_000_000_000_000UL).ToString(CultureInfo.InvariantCulture);

    /// <summary>Adds an event (newest first, the last 100 kept), unless the same message was recorded within <paramref name="repeatAfter"/>.</summary>
    private bool AddEventLocked(ServiceRecord service, string message, DateTimeOffset now, TimeSpan repeatAfter)
    {
        if (repeatAfter > TimeSpan.Zero && service.RecentMessages.TryGetValue(message, out var last) && now - last < repeatAfter)
        {
            return false;
        }

        service.RecentMessages[message] = now;
        if (service.RecentMessages.Count > 4 * ServiceRecord.MaxEvents)
        {
            service.RecentMessages.Clear();
            service.RecentMessages[message] = now;
        }

        Log.ServiceEvent(logger, message);
        service.Info.Events.Insert(0, new ServiceEvent { Id = Guid.NewGuid().ToString(), CreatedAt = Ts(now), Message = message });
        while (service.Info.Events.Count > ServiceRecord.MaxEvents)
        {
            service.Info.Events.RemoveAt(service.Info.Events.Count - 1);
        }

        return true;
    }

    private int CountServicesLocked(string cluster, params ReadOnlySpan<string> statuses)
    {
        var count = 0;
        foreach (var service in _services.Values)
        {
            if (service.Cluster == cluster && statuses.Contains(service.Info.Status))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The service as the API shows it: the stored record with counts derived from its tasks.</summary>
    private ServiceInfo DescribeLocked(ServiceRecord service)
    {
        var info = service.Info.Clone();
        var byDeployment = info.Deployments.ToDictionary(d => d.Id, StringComparer.Ordinal);
        foreach (var task in service.Tasks)
        {
            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus is LifecycleStatus.Stopped or LifecycleStatus.Unknown)
            {
                continue;
            }

            var running = task.LastStatus == LifecycleStatus.Running;
            if (running)
            {
                info.RunningCount++;
            }
            else
            {
                info.PendingCount++;
            }

            if (byDeployment.TryGetValue(task.StartedBy, out var deployment))
            {
                if (running)
                {
                    deployment.RunningCount++;
                }
                else
                {
                    deployment.PendingCount++;
                }
            }
        }

        if (service.IsDaemon && info.Status != ServiceStatuses.Inactive)
        {
            info.DesiredCount = info.Status == ServiceStatuses.Active ? DaemonInstancesLocked(service).Count : 0;
            info.Deployments[0].DesiredCount = info.DesiredCount;
        }

        return info;
    }

    private static ServiceRow ToRow(ServiceRecord service) => new()
    {
        Cluster = service.Cluster,
        Name = service.Name,
        Status = service.Info.Status,
        ClientToken = service.ClientToken,
        Info = service.Info.ToByteArray(),
    };

    /// <summary>Builds the service records from their rows and indexes their tasks. Under the lock, after tasks loaded.</summary>
    private void LoadServicesLocked(IReadOnlyList<ServiceRow> rows)
    {
        var byGroup = new Dictionary<string, ServiceRecord>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var info = ServiceInfo.Parser.ParseFrom(row.Info);
            var service = new ServiceRecord
            {
                Cluster = row.Cluster,
                Name = row.Name,
                ClientToken = row.ClientToken,
                Info = info,
                // Stored configurations were validated when they were stored.
                Strategies = ParseStrategies(info.PlacementStrategy),
            };
            if (info.Deployments.Count == 0)
            {
                Log.ServiceWithoutDeployment(logger, row.Cluster, row.Name);
                continue;
            }

            var definition = ResolveDefinitionLocked(service.Primary.TaskDefinition);
            if (definition is null)
            {
                Log.ServiceWithoutDefinition(logger, row.Cluster, row.Name, service.Primary.TaskDefinition);
                continue;
            }

            service.Definitions[definition.Arn] = definition;
            service.Constraints = ParseConstraints(definition, info.PlacementConstraints).Skip(definition.Definition.PlacementConstraints?.Count ?? 0).ToList();
            _services[ServiceRecord.KeyOf(row.Cluster, row.Name)] = service;
            if (info.Status != ServiceStatuses.Inactive)
            {
                byGroup[row.Cluster + "/" + service.Group] = service;
            }
        }

        if (byGroup.Count == 0)
        {
            return;
        }

        foreach (var task in _tasks.Values)
        {
            if (task.LastStatus != LifecycleStatus.Stopped
                && task.Group.StartsWith("service:", StringComparison.Ordinal)
                && byGroup.TryGetValue(task.Cluster + "/" + task.Group, out var service)
                && service.Info.Deployments.Any(d => d.Id == task.StartedBy))
            {
                service.Tasks.Add(task);
            }
        }
    }
}

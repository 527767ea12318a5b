using System.Globalization;
using System.Security.Cryptography;
using Berth.Scheduler.Fargate;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;

namespace Berth.Scheduler.Services;

/// <summary>
/// What a service's API calls and its reconcile pass share: deployments, events, health, DAEMON eligibility and the
/// counts a service is described with. Every method runs inside the service's cluster transaction or read.
/// </summary>
internal static partial class ServiceRules
{
    /// <summary>INACTIVE deployments kept per service beyond the live ones (history), the rollback target aside.</summary>
    public const int KeptInactiveDeployments = 5;

    /// <summary>Makes a new PRIMARY deployment of <paramref name="definition"/>; the previous PRIMARY becomes ACTIVE.</summary>
    public static DeploymentRecord StartDeployment(ServiceRecord service, TaskDefinitionRecord definition, DateTimeOffset now, ILogger logger, string? reason = null)
    {
        service.Definitions[definition.Arn] = definition;
        var deployments = service.Deployments;
        if (deployments.Count > 0)
        {
            deployments[0].Status = Statuses.Active;
            deployments[0].DesiredCount = 0;
            deployments[0].UpdatedAt = now;
        }

        var deployment = new DeploymentRecord
        {
            Id = NewDeploymentId(),
            TaskDefinitionArn = definition.Arn,
            DesiredCount = service.DesiredCount,
            CreatedAt = now,
            UpdatedAt = now,
            LaunchType = service.LaunchType,
        };
        deployment.RolloutStateReason = reason ?? $"ECS deployment {deployment.Id} in progress.";
        deployments.Insert(0, deployment);
        service.TaskDefinitionArn = definition.Arn;
        // A new deployment (an image fixed, a rollback) starts at once: the throttle was about the old one's failures.
        service.Throttle.Reset();
        TrimDeployments(service);
        AddEvent(service, $"(service {service.Name}) (deployment {deployment.Id}) deployment started with {definition.Family}:{definition.Revision}.", now, TimeSpan.Zero, logger);
        return deployment;
    }

    /// <summary>
    /// Drops the oldest INACTIVE deployments beyond <see cref="KeptInactiveDeployments"/>, never the latest COMPLETED one
    /// (the rollback target). A finished deployment is history: the service's state stays bounded however often it deploys.
    /// </summary>
    public static bool TrimDeployments(ServiceRecord service)
    {
        var deployments = service.Deployments;
        var lastCompleted = deployments.Skip(1).FirstOrDefault(d => d.RolloutState == Statuses.Completed);
        var inactive = 0;
        var trimmed = false;
        for (var i = 1; i < deployments.Count; i++)
        {
            if (deployments[i].Status != Statuses.Inactive || deployments[i] == lastCompleted)
            {
                continue;
            }

            if (++inactive > KeptInactiveDeployments)
            {
                deployments.RemoveAt(i--);
                trimmed = true;
            }
        }

        return trimmed;
    }

    /// <summary>Drops events older than <paramref name="before"/> (bounded state); true when any went.</summary>
    public static bool TrimEvents(ServiceRecord service, DateTimeOffset before) =>
        service.Events.RemoveAll(e => e.CreatedAt < before) > 0;

    // ECS deployment ids: `ecs-svc/` and 19 digits.
    private static string NewDeploymentId() =>
        "ecs-svc/" + ((BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) % 9_000_000_000_000_000_000UL) + 1_000_000_000_000_000_000UL).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Sets a REPLICA service's desired count without a new deployment (UpdateService with a count only, and the auto
    /// scaling pass): the primary deployment takes the count, and the service has to reach a steady state again.
    /// </summary>
    public static void SetDesiredCount(ServiceRecord service, int count, DateTimeOffset now)
    {
        service.DesiredCount = count;
        service.Primary.DesiredCount = count;
        service.Primary.UpdatedAt = now;
        service.Steady = false;
    }

    /// <summary>Adds an event (newest first, the last 100 kept), unless the same message was recorded within <paramref name="repeatAfter"/>.</summary>
    public static bool AddEvent(ServiceRecord service, string message, DateTimeOffset now, TimeSpan repeatAfter, ILogger logger)
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
        service.Events.Insert(0, new ServiceEventRecord(Guid.NewGuid().ToString(), now, message));
        if (service.Events.Count > ServiceRecord.MaxEvents)
        {
            service.Events.RemoveRange(ServiceRecord.MaxEvents, service.Events.Count - ServiceRecord.MaxEvents);
        }

        return true;
    }

    /// <summary>A service's task definition by ARN, resolved once per service (INACTIVE revisions too: ECS keeps running them).</summary>
    public static TaskDefinitionRecord DefinitionOf(TaskDefinitionCatalog catalog, ServiceRecord service, string arn)
    {
        if (!service.Definitions.TryGetValue(arn, out var definition))
        {
            definition = catalog.Resolve(arn) ?? throw new InvalidOperationException($"Service '{service.Name}' runs unknown task definition '{arn}'.");
            service.Definitions[arn] = definition;
        }

        return definition;
    }

    /// <summary>The service's constraints with its PRIMARY task definition's.</summary>
    public static List<PlacementConstraint> ConstraintsOf(TaskDefinitionCatalog catalog, ServiceRecord service)
    {
        var definition = DefinitionOf(catalog, service, service.Primary.TaskDefinitionArn);
        var constraints = PlacementSpecs.ParseConstraints(definition, []);
        constraints.AddRange(service.Constraints);
        constraints.AddRange(PlacementSpecs.Implied(definition));
        constraints.AddRange(Networking.Subnets.Implied(service.Subnets));
        return constraints;
    }

    /// <summary>
    /// The ACTIVE instances of the service's cluster that meet its memberOf constraints (and its task definition's), the
    /// FARGATE pool's hosts excepted.
    /// </summary>
    public static List<InstanceRecord> DaemonInstances(ClusterState cluster, TaskDefinitionCatalog catalog, ServiceRecord service)
    {
        var queries = ConstraintsOf(catalog, service).Where(c => c.Expression is not null).Select(c => c.Expression!).ToList();
        var snapshot = cluster.Snapshot;
        var instances = new List<InstanceRecord>();
        foreach (var instance in cluster.Instances.Values)
        {
            // The FARGATE pool's hosts run FARGATE tasks only (ECS runs no daemon on Fargate capacity).
            if (instance.Status == InstanceStatus.Active && !FargatePool.IsPoolHost(instance) && snapshot.Find(instance.Id) is { } view && queries.TrueForAll(q => q.Matches(view)))
            {
                instances.Add(instance);
            }
        }

        return instances;
    }

    /// <summary>
    /// Healthy as a deployment counts it: RUNNING, no essential container stopped, and every health check (if the
    /// task definition has any for an essential container) passing.
    /// </summary>
    public static bool IsHealthy(TaskRecord task)
    {
        if (task.LastStatus != LifecycleStatus.Running)
        {
            return false;
        }

        foreach (var container in task.Containers)
        {
            if (container.Essential && container.LastStatus == LifecycleStatus.Stopped)
            {
                return false;
            }
        }

        return !HasHealthCheck(task.Definition) || task.HealthStatus == HealthStatus.Healthy;
    }

    public static bool HasHealthCheck(TaskDefinitionRecord definition) =>
        definition.Definition.ContainerDefinitions?.Exists(c => c.IsEssential && c.HealthCheck is not null) ?? false;

    /// <summary>The counts a service is described with, derived from its tasks (and, for DAEMON, its eligible instances).</summary>
    public static ServiceCounts Count(ClusterState cluster, TaskDefinitionCatalog catalog, ServiceRecord service)
    {
        int running = 0, pending = 0;
        var byDeployment = new Dictionary<string, (int Running, int Pending)>(StringComparer.Ordinal);
        foreach (var task in service.Tasks)
        {
            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus is LifecycleStatus.Stopped or LifecycleStatus.Unknown)
            {
                continue;
            }

            var isRunning = task.LastStatus == LifecycleStatus.Running;
            if (isRunning)
            {
                running++;
            }
            else
            {
                pending++;
            }

            var (r, p) = byDeployment.GetValueOrDefault(task.StartedBy);
            byDeployment[task.StartedBy] = isRunning ? (r + 1, p) : (r, p + 1);
        }

        int? daemonDesired = service.IsDaemon && service.Status != Statuses.Inactive
            ? service.Status == Statuses.Active ? DaemonInstances(cluster, catalog, service).Count : 0
            : null;
        return new ServiceCounts(running, pending, daemonDesired, byDeployment);
    }

    private static partial class Log
    {
        [LoggerMessage(62, LogLevel.Information, "{Message}")]
        public static partial void ServiceEvent(ILogger logger, string message);
    }
}

/// <summary>
/// A service's derived counts: running and pending tasks (overall and per deployment id), and for a DAEMON service the
/// desired count (the eligible instances), which stands for the stored one and the PRIMARY's.
/// </summary>
internal sealed record ServiceCounts(int Running, int Pending, int? DaemonDesiredCount, IReadOnlyDictionary<string, (int Running, int Pending)> ByDeployment);

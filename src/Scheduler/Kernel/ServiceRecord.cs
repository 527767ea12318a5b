using System.Collections.Immutable;
using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;
using PlacementStrategy = Berth.Scheduler.Placement.PlacementStrategy;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A service. Owned by its <see cref="ClusterState"/>: read and changed only under the cluster's lock. The
/// configuration, deployments (PRIMARY first) and events (newest first) are stored; the rest is derived or runtime
/// state.
/// </summary>
internal sealed class ServiceRecord
{
    /// <summary>Events kept per service (ECS shows the last 100).</summary>
    public const int MaxEvents = 100;

    public required string Cluster { get; init; }

    public required string Name { get; init; }

    public string? ClientToken { get; init; }

    public string Status { get; set; } = Statuses.Active;

    public int DesiredCount { get; set; }

    /// <summary>The PRIMARY deployment's task definition ARN.</summary>
    public required string TaskDefinitionArn { get; set; }

    public SchedulingStrategy SchedulingStrategy { get; init; } = SchedulingStrategy.Replica;

    public DeploymentSettings DeploymentConfiguration { get; set; } = new();

    /// <summary>The strategies as given (type, field), for describing and storing.</summary>
    public ImmutableArray<PlacementSpec> PlacementStrategy { get; set; } = [];

    /// <summary>The service's own constraints as given (type, expression).</summary>
    public ImmutableArray<PlacementSpec> PlacementConstraints { get; set; } = [];

    public int HealthCheckGracePeriodSeconds { get; set; }

    /// <summary>The launch type its tasks get (EC2 for a strategy of host-group providers, FARGATE for the Fargate ones).</summary>
    public string LaunchType { get; set; } = "EC2";

    /// <summary>
    /// ECS capacityProviderStrategy (the given one, or the cluster's default at creation); empty: launched by
    /// <see cref="LaunchType"/>. The service's tasks per provider follow it, base first, then by weight.
    /// </summary>
    public IReadOnlyList<StrategyItem> CapacityProviderStrategy { get; set; } = [];

    public ReconnectPolicy ReconnectPolicy { get; set; } = ReconnectPolicy.KeepReplacement;

    /// <summary>ECS enableExecuteCommand: tasks launched from now on allow exec (tasks keep what they were launched with).</summary>
    public bool EnableExecuteCommand { get; set; }

    /// <summary>Target groups its tasks are registered with (ECS loadBalancers), by target group ARN.</summary>
    public ImmutableArray<ServiceLoadBalancer> LoadBalancers { get; set; } = [];

    /// <summary>
    /// ECS networkConfiguration.awsvpcConfiguration.securityGroups (ids) for awsvpc services; empty: its tasks join the
    /// cluster's default group. Tasks keep the groups they were launched with; a change starts a deployment.
    /// </summary>
    public ImmutableArray<string> SecurityGroups { get; set; } = [];

    /// <summary>
    /// ECS networkConfiguration.awsvpcConfiguration.subnets for awsvpc services: its tasks are placed only in their zones
    /// (Networking/Subnets); empty: any zone. A change starts a deployment, as the groups'.
    /// </summary>
    public ImmutableArray<SubnetRef> Subnets { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it became INACTIVE; it leaves memory and the database some time after (bounded state).</summary>
    public DateTimeOffset? InactiveAt { get; set; }

    /// <summary>PRIMARY first, then ACTIVE ones and the latest INACTIVE ones (history and the rollback target).</summary>
    public List<DeploymentRecord> Deployments { get; } = [];

    /// <summary>Newest first, at most <see cref="MaxEvents"/>.</summary>
    public List<ServiceEventRecord> Events { get; } = [];

    /// <summary>The parsed strategies (validated at create/update).</summary>
    public IReadOnlyList<PlacementStrategy> Strategies { get; set; } = [];

    /// <summary>The service's own parsed constraints (the task definition's are added per deployment).</summary>
    public IReadOnlyList<PlacementConstraint> Constraints { get; set; } = [];

    /// <summary>Its tasks that are not STOPPED (an index the kernel keeps: placed by the reconciler, or loaded with a deployment id).</summary>
    public HashSet<TaskRecord> Tasks { get; } = [];

    /// <summary>Task definitions by ARN, resolved once.</summary>
    public Dictionary<string, TaskDefinitionRecord> Definitions { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the last pass found it steady (the steady-state event is written on the transition).</summary>
    public bool Steady { get; set; }

    /// <summary>When each recent message was last recorded, for rate-limiting repeats.</summary>
    public Dictionary<string, DateTimeOffset> RecentMessages { get; } = new(StringComparer.Ordinal);

    /// <summary>The launch throttle: failures since the service was last steady and how long launches wait (stored).</summary>
    public ServiceThrottleState Throttle { get; } = new();

    /// <summary>Tasks seen with last status UNKNOWN (their host was lost) and not stopped since.</summary>
    public HashSet<string> LostTaskIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Tasks started while some of the service's tasks were lost: the replacements of <see cref="LostTaskIds"/>.</summary>
    public HashSet<string> ReplacementTaskIds { get; } = new(StringComparer.Ordinal);

    public string Arn => Arns.Service(Cluster, Name);

    public string Group => "service:" + Name;

    public bool IsDaemon => SchedulingStrategy == SchedulingStrategy.Daemon;

    public DeploymentRecord Primary => Deployments[0];

    /// <summary>minimumHealthyPercent with ECS's defaults (100; 0 for DAEMON).</summary>
    public int MinimumHealthyPercent => DeploymentConfiguration.MinimumHealthyPercent ?? (IsDaemon ? 0 : 100);

    /// <summary>maximumPercent with ECS's defaults (200; 100 for DAEMON).</summary>
    public int MaximumPercent => DeploymentConfiguration.MaximumPercent ?? (IsDaemon ? 100 : 200);

    /// <summary>The deployment of that id, or null.</summary>
    public DeploymentRecord? Deployment(string id)
    {
        foreach (var deployment in Deployments)
        {
            if (deployment.Id == id)
            {
                return deployment;
            }
        }

        return null;
    }

    /// <summary>
    /// Takes a task that became STOPPED out of the service, and counts it as a failed task of its deployment when it
    /// stopped without being asked to (failed to start, essential container exited). Only the PRIMARY deployment's
    /// failures feed the launch throttle: an older deployment launches nothing, and its tasks failing while a fixed one
    /// replaces them must neither hold back nor fail (<c>--wait</c> reads the throttle) the deployment that fixes them.
    /// True when the stored service changed.
    /// </summary>
    public bool TaskStopped(TaskRecord task, DateTimeOffset now)
    {
        if (!Tasks.Remove(task))
        {
            return false;
        }

        LostTaskIds.Remove(task.Id);
        ReplacementTaskIds.Remove(task.Id);
        if (task.StopCode is StopCode.TaskFailedToStart or StopCode.EssentialContainerExited && Deployment(task.StartedBy) is { } deployment)
        {
            deployment.FailedTasks++;
            deployment.UpdatedAt = now;
            if (ReferenceEquals(deployment, Primary))
            {
                Throttle.RecordFailure(now, FailureCause(task));
            }

            return true;
        }

        return false;
    }

    /// <summary>Why a task failed: its stopped reason (the agent's words, e.g. <c>CannotPullContainerError: ...</c>), else its first container's.</summary>
    private static string FailureCause(TaskRecord task)
    {
        if (!string.IsNullOrEmpty(task.StoppedReason))
        {
            return task.StoppedReason;
        }

        foreach (var container in task.Containers)
        {
            if (!string.IsNullOrEmpty(container.Reason))
            {
                return container.Reason;
            }
        }

        return "";
    }
}

/// <summary>A placement strategy or constraint as the user gave it (type and field, or type and expression).</summary>
internal readonly record struct PlacementSpec(string Type, string Value);

/// <summary>ECS deploymentConfiguration; unset percentages take ECS's defaults (see <see cref="ServiceRecord"/>).</summary>
internal sealed record DeploymentSettings
{
    public int? MinimumHealthyPercent { get; init; }

    public int? MaximumPercent { get; init; }

    public CircuitBreakerSettings? CircuitBreaker { get; init; }
}

/// <summary>ECS deploymentCircuitBreaker.</summary>
internal sealed record CircuitBreakerSettings(bool Enable, bool Rollback);

/// <summary>A deployment of a service. Owned by its service.</summary>
internal sealed class DeploymentRecord
{
    public required string Id { get; init; }

    public string Status { get; set; } = Statuses.Primary;

    public required string TaskDefinitionArn { get; init; }

    public int DesiredCount { get; set; }

    public int FailedTasks { get; set; }

    public string RolloutState { get; set; } = Statuses.InProgress;

    public string RolloutStateReason { get; set; } = "";

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }

    public string LaunchType { get; init; } = "EC2";
}

/// <summary>A service event.</summary>
internal sealed record ServiceEventRecord(string Id, DateTimeOffset CreatedAt, string Message);

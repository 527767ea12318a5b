using Berth.Scheduler.Placement;
using Berth.Scheduler.V1;
using PlacementConstraint = Berth.Scheduler.Placement.PlacementConstraint;
using PlacementStrategy = Berth.Scheduler.Placement.PlacementStrategy;

namespace Berth.Scheduler.State;

/// <summary>
/// A service, owned by <see cref="SchedulerState"/> and read or changed only under its lock. <see cref="Info"/> is the
/// persisted form (configuration, deployments PRIMARY first, events newest first); the rest is derived or runtime state.
/// </summary>
internal sealed class ServiceRecord
{
    public const int MaxEvents = 100;

    // Deployments kept in the record (PRIMARY, ACTIVE ones and the latest INACTIVE ones for history and rollback).
    public const int MaxDeployments = 10;

    public required string Cluster { get; init; }

    public required string Name { get; init; }

    public string? ClientToken { get; init; }

    /// <summary>The persisted service; counts are zero here and filled from the tasks when described.</summary>
    public required ServiceInfo Info { get; init; }

    /// <summary>The service's placement strategies, parsed (validated at create/update).</summary>
    public IReadOnlyList<PlacementStrategy> Strategies { get; set; } = [];

    /// <summary>The service's own placement constraints, parsed (the task definition's are added per deployment).</summary>
    public IReadOnlyList<PlacementConstraint> Constraints { get; set; } = [];

    /// <summary>Its tasks that are not STOPPED yet (placed by the reconciler, or loaded with a deployment id).</summary>
    public HashSet<TaskRecord> Tasks { get; } = [];

    /// <summary>Task definitions by ARN, resolved once.</summary>
    public Dictionary<string, TaskDefinitionRecord> Definitions { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the last pass found it steady (the steady-state event is written on the transition).</summary>
    public bool Steady { get; set; }

    /// <summary>When each recent message was last recorded, for rate-limiting repeats.</summary>
    public Dictionary<string, DateTimeOffset> RecentMessages { get; } = new(StringComparer.Ordinal);

    /// <summary>Tasks seen with last status UNKNOWN (their host was lost) and not stopped since.</summary>
    public HashSet<string> LostTaskIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Tasks started while some of the service's tasks were lost: the replacements of <see cref="LostTaskIds"/>.</summary>
    public HashSet<string> ReplacementTaskIds { get; } = new(StringComparer.Ordinal);

    public string Arn => Arns.Service(Cluster, Name);

    public string Group => "service:" + Name;

    public bool IsDaemon => Info.SchedulingStrategy == SchedulingStrategy.Daemon;

    public Deployment Primary => Info.Deployments[0];

    public ReconnectPolicy ReconnectPolicy => Info.ReconnectPolicy == ReconnectPolicy.Unspecified ? ReconnectPolicy.KeepReplacement : Info.ReconnectPolicy;

    /// <summary>minimumHealthyPercent with ECS's defaults (100; 0 for DAEMON).</summary>
    public int MinimumHealthyPercent => Info.DeploymentConfiguration?.HasMinimumHealthyPercent == true
        ? Info.DeploymentConfiguration.MinimumHealthyPercent
        : IsDaemon ? 0 : 100;

    /// <summary>maximumPercent with ECS's defaults (200; 100 for DAEMON).</summary>
    public int MaximumPercent => Info.DeploymentConfiguration?.HasMaximumPercent == true
        ? Info.DeploymentConfiguration.MaximumPercent
        : IsDaemon ? 100 : 200;

    public static string KeyOf(string cluster, string name) => cluster + "/" + name;
}

/// <summary>Deployment and service vocabulary, as ECS spells it.</summary>
internal static class ServiceStatuses
{
    public const string Active = "ACTIVE";
    public const string Draining = "DRAINING";
    public const string Inactive = "INACTIVE";
    public const string Primary = "PRIMARY";
    public const string InProgress = "IN_PROGRESS";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";
}

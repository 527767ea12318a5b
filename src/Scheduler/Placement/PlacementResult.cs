using System.Collections.Immutable;

namespace Berth.Scheduler.Placement;

/// <summary>The host port assigned to one container port mapping.</summary>
internal readonly record struct PortBinding(string ContainerName, int ContainerPort, int HostPort, TransportProtocol Protocol);

/// <summary>
/// What a placed task holds on its instance. Keep it with the task: <see cref="ClusterSnapshot.WithTaskStopped"/> needs it
/// to give the resources back, and <see cref="ClusterSnapshot.WithTaskStarted"/> to rebuild state after a restart.
/// </summary>
internal sealed record TaskReservation(int Cpu, int Memory, ImmutableArray<HostPort> HostPorts, string? Group);

/// <summary>One placed task: the instance and the host port of every container port mapping.</summary>
internal sealed record TaskPlacement(string InstanceId, TaskReservation Reservation, ImmutableArray<PortBinding> PortBindings);

/// <summary>ECS failure reasons for a task that could not be placed.</summary>
internal static class PlacementFailureReasons
{
    /// <summary>The closest instance lacks CPU.</summary>
    public const string Cpu = "RESOURCE:CPU";

    /// <summary>The closest instance lacks memory.</summary>
    public const string Memory = "RESOURCE:MEMORY";

    /// <summary>The closest instance has a static host port taken, or no free port in the dynamic range.</summary>
    public const string Ports = "RESOURCE:PORTS";

    /// <summary>No instance satisfies the constraints (memberOf, distinctInstance).</summary>
    public const string Attribute = "ATTRIBUTE";

    /// <summary>The closest instance's agent is not connected.</summary>
    public const string Agent = "AGENT";

    /// <summary>The cluster has no ACTIVE instance at all (ECS answers this one with an error, not a failure).</summary>
    public const string NoActiveInstances = "NO_ACTIVE_INSTANCES";
}

/// <summary>
/// A task that could not be placed. <see cref="InstanceId"/> is the closest instance (the one that passed the most
/// checks, in the order AGENT, ATTRIBUTE, RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS) and
/// <see cref="Reason"/> the check it failed, as ECS reports it.
/// </summary>
internal sealed record PlacementFailure(string? InstanceId, string Reason, string Detail);

/// <summary>
/// The outcome of <see cref="PlacementEngine.Place"/>: placements (possibly fewer than asked), one failure per task not
/// placed, the snapshot placed against and its successor with the placements applied.
/// </summary>
internal sealed record PlacementResult(
    ClusterSnapshot BaseSnapshot,
    ClusterSnapshot Snapshot,
    ImmutableArray<TaskPlacement> Placements,
    ImmutableArray<PlacementFailure> Failures);

using System.Collections.Immutable;
using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>Container instance status, as in ECS. Only <see cref="Active"/> instances receive new tasks.</summary>
internal enum InstanceStatus
{
    /// <summary>Accepts new tasks.</summary>
    Active,

    /// <summary>Keeps its tasks until they are replaced, takes no new ones.</summary>
    Draining,

    /// <summary>Deregistered or gone.</summary>
    Inactive,
}

/// <summary>Transport protocol of a host port.</summary>
internal enum TransportProtocol
{
    /// <summary>TCP.</summary>
    Tcp,

    /// <summary>UDP.</summary>
    Udp,
}

/// <summary>A host port with its protocol; tcp/80 and udp/80 are different ports.</summary>
internal readonly record struct HostPort(int Port, TransportProtocol Protocol)
{
    /// <inheritdoc/>
    public override string ToString() => Protocol == TransportProtocol.Tcp ? $"{Port}/tcp" : $"{Port}/udp";
}

/// <summary>
/// An immutable view of one container instance as placement sees it. The scheduler builds these from its state
/// (registered resources minus what its non-stopped tasks reserve) and hands them to <see cref="ClusterSnapshot.Create"/>;
/// the snapshot hands back updated views after placements. Use <c>with</c> to derive a changed view.
/// </summary>
internal sealed record ContainerInstanceView : IClusterQueryTarget
{
    /// <summary>The container instance id, unique in the cluster.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The cluster the instance belongs to.</summary>
    public string Cluster { get; init; } = "default";

    /// <summary>ACTIVE, DRAINING or INACTIVE; placement uses ACTIVE instances only.</summary>
    public InstanceStatus Status { get; init; } = InstanceStatus.Active;

    /// <summary>Whether the agent holds a session; a disconnected instance fails placement with <c>AGENT</c>.</summary>
    public bool AgentConnected { get; init; } = true;

    /// <summary>The agent's version, for <c>agentVersion</c> queries.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>When the instance registered, for <c>registeredAt</c> queries.</summary>
    public DateTimeOffset RegisteredAt { get; init; }

    /// <summary>
    /// Attributes by canonical name (<c>berth.zone</c>); names given as <c>ecs.*</c> are normalized on assignment.
    /// An attribute may have a null value (ECS attributes have an optional value).
    /// </summary>
    public ImmutableDictionary<string, string?> Attributes
    {
        get;
        init => field = NormalizeAttributes(value);
    } = ImmutableDictionary<string, string?>.Empty;

    /// <summary>Registered CPU in units (1024 per vCPU).</summary>
    public int RegisteredCpu { get; init; }

    /// <summary>Registered memory in MiB.</summary>
    public int RegisteredMemory { get; init; }

    /// <summary>CPU units not reserved by tasks.</summary>
    public int RemainingCpu { get; init; }

    /// <summary>Memory (MiB) not reserved by tasks.</summary>
    public int RemainingMemory { get; init; }

    /// <summary>Host ports in use: reserved at registration (for example 22) and taken by tasks.</summary>
    public PortSet UsedPorts { get; init; } = PortSet.Empty;

    /// <summary>Number of non-stopped tasks per task group (for <c>task:group</c>, spread and distinctInstance).</summary>
    public ImmutableDictionary<string, int> TaskGroupCounts { get; init; } = ImmutableDictionary<string, int>.Empty;

    /// <summary>Number of non-stopped tasks on the instance (for <c>runningTasksCount</c>).</summary>
    public int RunningTasksCount { get; init; }

    /// <inheritdoc/>
    public bool TryGetAttribute(string name, out string? value) => Attributes.TryGetValue(name, out value);

    /// <inheritdoc/>
    public bool HasTaskGroup(string group) => TaskGroupCounts.TryGetValue(group, out var count) && count > 0;

    /// <inheritdoc/>
    public IEnumerable<string> TaskGroups => TaskGroupCounts.Where(g => g.Value > 0).Select(g => g.Key);

    /// <summary>
    /// This view with the reservations of existing tasks taken from it (CPU, memory, host ports, group and task counts) in
    /// one pass: how a scheduler rebuilds its views after a restart before calling <see cref="ClusterSnapshot.Create"/>,
    /// cheaper than one <see cref="ClusterSnapshot.WithTaskStarted"/> per task.
    /// </summary>
    public ContainerInstanceView WithReservations(IEnumerable<TaskReservation> reservations)
    {
        ArgumentNullException.ThrowIfNull(reservations);
        int cpu = RemainingCpu, memory = RemainingMemory, tasks = RunningTasksCount;
        var ports = UsedPorts;
        var groups = TaskGroupCounts.ToBuilder();
        foreach (var reservation in reservations)
        {
            cpu -= reservation.Cpu;
            memory -= reservation.Memory;
            tasks++;
            if (!reservation.HostPorts.IsDefaultOrEmpty)
            {
                ports = ports.AddRange(reservation.HostPorts);
            }

            if (reservation.Group is not null)
            {
                groups[reservation.Group] = groups.GetValueOrDefault(reservation.Group) + 1;
            }
        }

        return this with { RemainingCpu = cpu, RemainingMemory = memory, RunningTasksCount = tasks, UsedPorts = ports, TaskGroupCounts = groups.ToImmutable() };
    }

    /// <summary>Number of tasks of <paramref name="group"/> on the instance.</summary>
    public int TaskCount(string group) => TaskGroupCounts.TryGetValue(group, out var count) ? count : 0;

    private static ImmutableDictionary<string, string?> NormalizeAttributes(ImmutableDictionary<string, string?> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        if (attributes.Keys.All(k => ReferenceEquals(AttributeNames.Normalize(k), k) || AttributeNames.Normalize(k) == k))
        {
            return attributes;
        }

        var builder = ImmutableDictionary.CreateBuilder<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in attributes)
        {
            builder[AttributeNames.Normalize(name)] = value;
        }

        return builder.ToImmutable();
    }
}

using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Placement;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A task-definition revision, held by the <see cref="TaskDefinitionCatalog"/> (task definitions are global, as in ECS)
/// and referred to by tasks and services of every cluster. Everything but its status is immutable; the status changes
/// once (ACTIVE to INACTIVE) under the catalog's lock and is read from any thread, so it travels as one immutable
/// <see cref="RevisionState"/> swapped whole.
/// </summary>
internal sealed class TaskDefinitionRecord
{
    private RevisionState _state = new(Statuses.Active, null);

    public required string Family { get; init; }

    public required int Revision { get; init; }

    public required TaskDefinition Definition { get; init; }

    /// <summary>The normalized user document (read-only fields dropped) as stored.</summary>
    public required string Json { get; init; }

    public required TaskRequirements Requirements { get; init; }

    public required string Arn { get; init; }

    public DateTimeOffset RegisteredAt { get; init; }

    public string Status => Volatile.Read(ref _state).Status;

    public DateTimeOffset? DeregisteredAt => Volatile.Read(ref _state).DeregisteredAt;

    public bool IsActive => Status == Statuses.Active;

    /// <summary>The document sent to agents and returned by Describe, built once per status.</summary>
    public string DescribedJson
    {
        get
        {
            var state = Volatile.Read(ref _state);
            return state.Described ??= TaskDefinitionJson.SerializeDescribed(Definition, Revision, Arn, state.Status, RegisteredAt, state.DeregisteredAt);
        }
    }

    /// <summary>
    /// A cache slot of the agent edge (Sessions): the described document in the encoding agents receive, rebuilt by its
    /// owner when <see cref="DescribedJson"/> changes. The record only holds it.
    /// </summary>
    public object? EdgeDocument { get; set; }

    /// <summary>Sets the stored status (loading) or deregisters (the catalog, under its lock).</summary>
    public void SetStatus(string status, DateTimeOffset? deregisteredAt) => Volatile.Write(ref _state, new RevisionState(status, deregisteredAt));

    /// <summary>What placement needs of a task definition: task- and container-level cpu, memory and ports.</summary>
    public static TaskRequirements RequirementsOf(TaskDefinition definition)
    {
        int? taskCpu = TaskResources.TryParseCpu(definition.Cpu, out var cpu) ? cpu : null;
        int? taskMemory = TaskResources.TryParseMemory(definition.Memory, out var memory) ? memory : null;
        var hostMode = definition.NetworkMode == "host";
        // An awsvpc task has an address of its own: its ports are on that address, not the host's, so it reserves none
        // (ECS: awsvpc tasks never conflict on ports, any number of them fit one instance).
        var awsvpc = definition.NetworkMode == "awsvpc";
        var containers = (definition.ContainerDefinitions ?? []).Select(c => new ContainerRequirements(
            c.Name ?? "",
            c.Cpu ?? 0,
            c.Memory,
            c.MemoryReservation,
            (awsvpc ? [] : c.PortMappings ?? []).Select(p => new PortRequest(
                c.Name ?? "",
                p.ContainerPort ?? 0,
                // In host mode the container port is the host port (ECS).
                hostMode ? p.ContainerPort ?? 0 : p.HostPort ?? 0,
                p.EffectiveProtocol == "udp" ? TransportProtocol.Udp : TransportProtocol.Tcp)).ToList()));
        return TaskRequirements.FromContainers(taskCpu, taskMemory, containers);
    }

    private sealed class RevisionState(string status, DateTimeOffset? deregisteredAt)
    {
        public string Status { get; } = status;

        public DateTimeOffset? DeregisteredAt { get; } = deregisteredAt;

        public string? Described { get; set; }
    }
}

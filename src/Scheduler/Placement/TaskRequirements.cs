using System.Collections.Immutable;

namespace Berth.Scheduler.Placement;

/// <summary>One port mapping of a container; <see cref="HostPort"/> 0 asks for a dynamic host port.</summary>
internal readonly record struct PortRequest(string ContainerName, int ContainerPort, int HostPort, TransportProtocol Protocol)
{
    /// <summary>Whether the host port is picked by placement from the dynamic range.</summary>
    public bool IsDynamic => HostPort == 0;
}

/// <summary>What one container of a task definition asks for (a subset of the ECS container definition).</summary>
/// <param name="Name">Container name.</param>
/// <param name="Cpu">CPU units (1024 per vCPU); 0 when unset.</param>
/// <param name="Memory">Hard memory limit in MiB (ECS <c>memory</c>), null when unset.</param>
/// <param name="MemoryReservation">Soft limit in MiB (ECS <c>memoryReservation</c>), null when unset.</param>
/// <param name="PortMappings">Port mappings; host port 0 means dynamic.</param>
internal sealed record ContainerRequirements(
    string Name,
    int Cpu,
    int? Memory,
    int? MemoryReservation,
    IReadOnlyList<PortRequest> PortMappings);

/// <summary>
/// What one task reserves on an instance: CPU units, memory MiB and host ports. Build it with
/// <see cref="FromContainers"/> from a task definition, or directly.
/// </summary>
internal sealed record TaskRequirements
{
    /// <summary>Creates requirements; ports may be empty.</summary>
    public TaskRequirements(int cpu, int memory, ImmutableArray<PortRequest> ports = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        ArgumentOutOfRangeException.ThrowIfNegative(memory);
        Cpu = cpu;
        Memory = memory;
        Ports = ports.IsDefault ? [] : ports;
        foreach (var port in Ports)
        {
            if (port.HostPort is < 0 or > 65535 || port.ContainerPort is < 0 or > 65535)
            {
                throw new ArgumentException($"Port mapping {port.ContainerName}:{port.ContainerPort} has a port outside 0-65535.", nameof(ports));
            }
        }

        var statics = Ports.Where(p => !p.IsDynamic).Select(p => new HostPort(p.HostPort, p.Protocol)).ToList();
        if (statics.Count != statics.Distinct().Count())
        {
            throw new ArgumentException("Two port mappings of one task ask for the same static host port.", nameof(ports));
        }
    }

    /// <summary>CPU units reserved (1024 per vCPU).</summary>
    public int Cpu { get; }

    /// <summary>Memory reserved in MiB.</summary>
    public int Memory { get; }

    /// <summary>All port mappings of all containers, in container order.</summary>
    public ImmutableArray<PortRequest> Ports { get; }

    /// <summary>
    /// Requirements of a task definition as ECS computes them on EC2: task-level <c>cpu</c>/<c>memory</c> when given,
    /// otherwise the sum over containers, where a container reserves its hard <c>memory</c> limit, or its
    /// <c>memoryReservation</c> when it has no hard limit.
    /// </summary>
    public static TaskRequirements FromContainers(int? taskCpu, int? taskMemory, IEnumerable<ContainerRequirements> containers)
    {
        ArgumentNullException.ThrowIfNull(containers);
        var list = containers.ToList();
        var cpu = taskCpu ?? list.Sum(c => c.Cpu);
        var memory = taskMemory ?? list.Sum(c => c.Memory ?? c.MemoryReservation ?? 0);
        return new TaskRequirements(cpu, memory, [.. list.SelectMany(c => c.PortMappings)]);
    }
}

using System.Collections.Immutable;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Tests.Placement;

/// <summary>Builders for instances, snapshots and requests in placement tests.</summary>
internal static class Cluster
{
    public static ContainerInstanceView Instance(
        string id,
        int cpu = 4096,
        int memory = 8192,
        string? zone = "z1",
        string type = "m5.large",
        InstanceStatus status = InstanceStatus.Active,
        bool connected = true,
        params HostPort[] usedPorts) =>
        new()
        {
            InstanceId = id,
            Status = status,
            AgentConnected = connected,
            AgentVersion = "1.0.0",
            RegisteredAt = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Attributes = zone is null
                ? ImmutableDictionary<string, string?>.Empty.Add("ecs.instance-type", type)
                : ImmutableDictionary<string, string?>.Empty.Add("ecs.availability-zone", zone).Add("ecs.instance-type", type),
            RegisteredCpu = cpu,
            RegisteredMemory = memory,
            RemainingCpu = cpu,
            RemainingMemory = memory,
            UsedPorts = PortSet.Of(usedPorts),
        };

    public static ClusterSnapshot Snapshot(params ContainerInstanceView[] instances) => ClusterSnapshot.Create("test", instances);

    public static PlacementRequest Request(
        int cpu = 128,
        int memory = 256,
        int count = 1,
        string? group = "service:web",
        PlacementStrategy[]? strategies = null,
        PlacementConstraint[]? constraints = null,
        PortRequest[]? ports = null,
        int? seed = 1) =>
        new()
        {
            Task = new TaskRequirements(cpu, memory, ports is null ? [] : [.. ports]),
            Count = count,
            Group = group,
            Strategies = strategies ?? [],
            Constraints = constraints ?? [],
            RandomSeed = seed,
        };

    public static PortRequest Dynamic(int containerPort = 80, TransportProtocol protocol = TransportProtocol.Tcp, string container = "app") =>
        new(container, containerPort, 0, protocol);

    public static PortRequest Static(int hostPort, TransportProtocol protocol = TransportProtocol.Tcp, string container = "app") =>
        new(container, hostPort, hostPort, protocol);

    public static HostPort Tcp(int port) => new(port, TransportProtocol.Tcp);

    public static PlacementEngine Engine(int first = 49153, int last = 65535) =>
        new(new PlacementOptions { DynamicPortFirst = first, DynamicPortLast = last });

    public static string[] Ids(PlacementResult result) => [.. result.Placements.Select(p => p.InstanceId)];
}

using System.Collections.Immutable;
using Berth.Core.ClusterQuery;

namespace Berth.Scheduler.Placement;

/// <summary>How far an instance got through the checks; higher is closer to fitting. Order matters.</summary>
internal enum FitStage
{
    NotActive,
    Agent,
    Attribute,
    Cpu,
    Memory,
    Ports,
    Fits,
}

/// <summary>The per-request state of one <see cref="PlacementEngine.Place"/> call: parsed needs, constraints and the random source.</summary>
internal sealed class PlacementContext
{
    private readonly bool[]? _staticMatches;
    private readonly ClusterQuery[] _dynamicQueries;
    private readonly HashSet<int> _placed = [];
    private readonly HostPort[] _staticPorts;

    public PlacementContext(ClusterSnapshot snapshot, PlacementRequest request, PlacementOptions options)
    {
        Request = request;
        Options = options;
        Strategies = request.Strategies;
        Cpu = request.Task.Cpu;
        Memory = request.Task.Memory;
        Group = request.Group;
        Random = request.RandomSeed is { } seed ? new Random(seed) : new Random();
        var memberOf = request.Constraints.Where(c => c.Type == PlacementConstraintType.MemberOf).Select(c => c.Expression!).ToList();
        Filter = snapshot.GetStaticFilter(memberOf);
        _staticMatches = Filter?.Matches;
        _dynamicQueries = [.. memberOf.Where(q => q.DependsOnInstanceState)];
        Distinct = request.Constraints.Any(c => c.Type == PlacementConstraintType.DistinctInstance);
        _staticPorts = [.. request.Task.Ports.Where(p => !p.IsDynamic).Select(p => new HostPort(p.HostPort, p.Protocol))];
        HasPorts = !request.Task.Ports.IsEmpty;
    }

    public PlacementRequest Request { get; }

    /// <summary>The request's static memberOf expressions, precomputed over the snapshot lineage; null when none.</summary>
    public ClusterSnapshot.StaticFilter? Filter { get; }

    public PlacementOptions Options { get; }

    public IReadOnlyList<PlacementStrategy> Strategies { get; }

    public int Cpu { get; }

    public int Memory { get; }

    public string? Group { get; }

    public Random Random { get; }

    public bool Distinct { get; }

    public bool HasPorts { get; }

    /// <summary>Tasks on the instance that spread(instanceId) counts: of the request's group, or all tasks.</summary>
    public int InstanceTaskCount(ContainerInstanceView view) => Group is null ? view.RunningTasksCount : view.TaskCount(Group);

    public void Placed(int position) => _placed.Add(position);

    public FitStage Check(ContainerInstanceView view, int position)
    {
        if (view.Status != InstanceStatus.Active)
        {
            return FitStage.NotActive;
        }

        if (!view.AgentConnected)
        {
            return FitStage.Agent;
        }

        if (_staticMatches is not null && !_staticMatches[position])
        {
            return FitStage.Attribute;
        }

        foreach (var query in _dynamicQueries)
        {
            if (!query.Matches(view))
            {
                return FitStage.Attribute;
            }
        }

        if (Distinct && (_placed.Contains(position) || (Group is not null && view.TaskCount(Group) > 0)))
        {
            return FitStage.Attribute;
        }

        if (view.RemainingCpu < Cpu)
        {
            return FitStage.Cpu;
        }

        if (view.RemainingMemory < Memory)
        {
            return FitStage.Memory;
        }

        if (HasPorts && !PortsFit(view))
        {
            return FitStage.Ports;
        }

        return FitStage.Fits;
    }

    /// <summary>Whether <see cref="AllocatePorts"/> would succeed, without allocating.</summary>
    public bool PortsFit(ContainerInstanceView view)
    {
        foreach (var port in _staticPorts)
        {
            if (view.UsedPorts.Contains(port))
            {
                return false;
            }
        }

        // Count dynamic mappings per protocol and look for that many free ports in the range.
        var ports = Request.Task.Ports;
        Span<int> takenTcp = stackalloc int[ports.Length];
        Span<int> takenUdp = stackalloc int[ports.Length];
        int tcpCount = 0, udpCount = 0;
        foreach (var port in _staticPorts)
        {
            if (port.Protocol == TransportProtocol.Tcp)
            {
                takenTcp[tcpCount++] = port.Port;
            }
            else
            {
                takenUdp[udpCount++] = port.Port;
            }
        }

        foreach (var port in ports)
        {
            if (!port.IsDynamic)
            {
                continue;
            }

            var tcp = port.Protocol == TransportProtocol.Tcp;
            var free = view.UsedPorts.FindFree(
                port.Protocol, Options.DynamicPortFirst, Options.DynamicPortLast, tcp ? takenTcp[..tcpCount] : takenUdp[..udpCount]);
            if (free < 0)
            {
                return false;
            }

            if (tcp)
            {
                takenTcp[tcpCount++] = free;
            }
            else
            {
                takenUdp[udpCount++] = free;
            }
        }

        return true;
    }

    /// <summary>
    /// Host ports for every port mapping on <paramref name="view"/>, or null when a static port is taken or the dynamic
    /// range has too few free ports. Dynamic ports are the lowest free ones of the range, never one of the task's own
    /// static ports, never the same twice.
    /// </summary>
    public ImmutableArray<PortBinding>? AllocatePorts(ContainerInstanceView view)
    {
        var ports = Request.Task.Ports;
        if (ports.IsEmpty)
        {
            return [];
        }

        foreach (var port in _staticPorts)
        {
            if (view.UsedPorts.Contains(port))
            {
                return null;
            }
        }

        Span<int> takenTcp = stackalloc int[ports.Length];
        Span<int> takenUdp = stackalloc int[ports.Length];
        int tcpCount = 0, udpCount = 0;
        foreach (var port in _staticPorts)
        {
            if (port.Protocol == TransportProtocol.Tcp)
            {
                takenTcp[tcpCount++] = port.Port;
            }
            else
            {
                takenUdp[udpCount++] = port.Port;
            }
        }

        var bindings = ImmutableArray.CreateBuilder<PortBinding>(ports.Length);
        foreach (var port in ports)
        {
            var hostPort = port.HostPort;
            if (port.IsDynamic)
            {
                var tcp = port.Protocol == TransportProtocol.Tcp;
                hostPort = view.UsedPorts.FindFree(
                    port.Protocol, Options.DynamicPortFirst, Options.DynamicPortLast, tcp ? takenTcp[..tcpCount] : takenUdp[..udpCount]);
                if (hostPort < 0)
                {
                    return null;
                }

                if (tcp)
                {
                    takenTcp[tcpCount++] = hostPort;
                }
                else
                {
                    takenUdp[udpCount++] = hostPort;
                }
            }

            bindings.Add(new PortBinding(port.ContainerName, port.ContainerPort, hostPort, port.Protocol));
        }

        return bindings.MoveToImmutable();
    }
}

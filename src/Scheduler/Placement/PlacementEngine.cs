using System.Collections.Immutable;

namespace Berth.Scheduler.Placement;

/// <summary>
/// Decides where tasks run. Pure: <see cref="Place"/> reads an immutable <see cref="ClusterSnapshot"/> and returns
/// placements plus the successor snapshot; it changes nothing and holds no state, so any number of threads may call it.
/// </summary>
/// <remarks>
/// Concurrency contract (so that concurrent RunTask calls never overcommit an instance): the caller owns the
/// current snapshot and serializes commits. Place against the current snapshot V; then, under the commit lock, commit
/// the result only if the current snapshot is still V (reference equality), persisting the tasks and making
/// <see cref="PlacementResult.Snapshot"/> current; otherwise place again against the new current snapshot. The simplest
/// correct caller does Place and commit both inside one lock (placement takes microseconds per task); see
/// docs/placement.md.
/// </remarks>
internal sealed class PlacementEngine
{
    /// <summary>Creates an engine.</summary>
    /// <exception cref="ArgumentException">The dynamic port range is empty or outside 1-65535.</exception>
    public PlacementEngine(PlacementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.DynamicPortFirst < 1 || options.DynamicPortLast > 65535 || options.DynamicPortFirst > options.DynamicPortLast)
        {
            throw new ArgumentException(
                $"Dynamic port range {options.DynamicPortFirst}-{options.DynamicPortLast} must be a non-empty range within 1-65535.", nameof(options));
        }

        Options = options;
    }

    /// <summary>The settings this engine was created with.</summary>
    public PlacementOptions Options { get; }

    /// <summary>
    /// Places <see cref="PlacementRequest.Count"/> tasks one after another. Returns a placement per task placed and a
    /// failure per task that fit nowhere, with the reason the closest instance failed on.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (count below 1, more than five strategies).</exception>
    public PlacementResult Place(ClusterSnapshot snapshot, PlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Task);
        if (request.Count < 1)
        {
            throw new ArgumentException($"Count must be at least 1, not {request.Count}.", nameof(request));
        }

        if (request.Strategies.Count > PlacementRequest.MaxStrategies)
        {
            throw new ArgumentException($"At most {PlacementRequest.MaxStrategies} placement strategies, not {request.Strategies.Count}.", nameof(request));
        }

        var context = new PlacementContext(snapshot, request, Options);
        var current = snapshot;
        var placements = ImmutableArray.CreateBuilder<TaskPlacement>(request.Count);
        for (var placed = 0; placed < request.Count; placed++)
        {
            var position = PlacementChooser.Choose(current, context);
            if (position < 0)
            {
                // Nothing changed since this task failed, so every later task of the request fails the same way.
                var failure = Diagnose(current, context);
                return new PlacementResult(snapshot, current, placements.ToImmutable(), [.. Enumerable.Repeat(failure, request.Count - placed)]);
            }

            var view = current.At(position);
            var bindings = context.AllocatePorts(view)
                ?? throw new InvalidOperationException($"Instance {view.InstanceId} was chosen but its ports do not fit.");
            var hostPorts = bindings.IsEmpty ? [] : bindings.Select(b => new HostPort(b.HostPort, b.Protocol)).ToImmutableArray();
            var reservation = new TaskReservation(context.Cpu, context.Memory, hostPorts, request.Group);
            current = current.WithTaskStartedAt(position, reservation);
            context.Placed(position);
            placements.Add(new TaskPlacement(view.InstanceId, reservation, bindings));
        }

        return new PlacementResult(snapshot, current, placements.MoveToImmutable(), []);
    }

    /// <summary>
    /// Why nothing fits: the ACTIVE instance that got furthest through the checks (AGENT, ATTRIBUTE, RESOURCE:CPU,
    /// RESOURCE:MEMORY, RESOURCE:PORTS), lowest instance id among equals. Linear, but only on failure.
    /// </summary>
    private static PlacementFailure Diagnose(ClusterSnapshot snapshot, PlacementContext context)
    {
        var bestStage = FitStage.NotActive;
        var bestPosition = -1;
        for (var position = 0; position < snapshot.InstanceCount; position++)
        {
            var stage = context.Check(snapshot.At(position), position);
            if (stage > bestStage)
            {
                bestStage = stage;
                bestPosition = position;
            }
        }

        if (bestPosition < 0)
        {
            return new PlacementFailure(null, PlacementFailureReasons.NoActiveInstances, $"Cluster '{snapshot.Cluster}' has no ACTIVE container instance.");
        }

        var view = snapshot.At(bestPosition);
        return bestStage switch
        {
            FitStage.Agent => new(view.InstanceId, PlacementFailureReasons.Agent, $"The agent of {view.InstanceId} is not connected."),
            FitStage.Attribute => new(view.InstanceId, PlacementFailureReasons.Attribute,
                $"No instance satisfies the placement constraints ({string.Join(", ", context.Request.Constraints)})."),
            FitStage.Cpu => new(view.InstanceId, PlacementFailureReasons.Cpu,
                $"{view.InstanceId} has {view.RemainingCpu} CPU units left; the task needs {context.Cpu}."),
            FitStage.Memory => new(view.InstanceId, PlacementFailureReasons.Memory,
                $"{view.InstanceId} has {view.RemainingMemory} MiB left; the task needs {context.Memory}."),
            FitStage.Ports => new(view.InstanceId, PlacementFailureReasons.Ports,
                $"{view.InstanceId} has a requested static host port in use or no free port in {context.Options.DynamicPortFirst}-{context.Options.DynamicPortLast}."),
            _ => throw new InvalidOperationException($"Diagnosed a fitting instance {view.InstanceId} after no placement was found."),
        };
    }
}

namespace Berth.Scheduler.Placement;

/// <summary>
/// Decides where tasks run. Pure: <see cref="Place"/> reads an immutable <see cref="ClusterSnapshot"/> and returns
/// placements plus the successor snapshot; it changes nothing and holds no state, so any number of threads may call it.
/// </summary>
/// <remarks>
/// Concurrency contract (so that concurrent RunTask calls never overcommit an instance): the caller owns the
/// current snapshot and serializes commits. Place against the current snapshot V; then, under the commit lock, commit
/// the result only if the current snapshot is still V (reference or <see cref="ClusterSnapshot.Version"/> equality),
/// persisting the tasks and making <see cref="PlacementResult.Snapshot"/> current; otherwise place again against the new
/// current snapshot. The simplest correct caller does Place and commit both inside one lock (placement takes
/// microseconds per task); see docs/placement.md.
/// </remarks>
internal sealed class PlacementEngine(PlacementOptions options)
{
    /// <summary>The settings this engine was created with.</summary>
    public PlacementOptions Options { get; } = options;

    /// <summary>
    /// Places <see cref="PlacementRequest.Count"/> tasks one after another. Returns a placement per task placed and a
    /// failure per task that fit nowhere, with the reason the closest instance failed on.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (count below 1, more than five strategies).</exception>
    public PlacementResult Place(ClusterSnapshot snapshot, PlacementRequest request)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(request);
        throw new NotImplementedException("Placement engine: API published, implementation in progress.");
    }
}

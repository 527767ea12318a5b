namespace Berth.Scheduler.Kernel;

/// <summary>Why one item of a batch call was not done (ECS failures: MISSING, INACTIVE, placement reasons).</summary>
internal sealed record Failure(string Arn, string Reason, string Detail);

/// <summary>Counting rules shared by every feature.</summary>
internal static class TaskCounting
{
    /// <summary>
    /// Before RUNNING: the pending counts. UNKNOWN is neither pending nor running (the task may run on a lost host), so
    /// it counts in neither, though it still holds its reservation.
    /// </summary>
    public static bool IsPending(LifecycleStatus status) => status is not (LifecycleStatus.Running or LifecycleStatus.Stopped or LifecycleStatus.Unknown);
}

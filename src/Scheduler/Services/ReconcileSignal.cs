namespace Berth.Scheduler.State;

/// <summary>
/// Wakes the service reconciler: set by any change that may matter to a service (rows queued, an agent connecting or
/// leaving), awaited by the reconciler between passes. Wakes coalesce: many changes during a pass cause one more pass.
/// </summary>
internal sealed class ReconcileSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Marks that something changed. Cheap and non-blocking: called under the state lock.</summary>
    public void Wake() => Volatile.Read(ref _next).TrySetResult();

    /// <summary>Completes at the next wake (at once when a wake came since the last <see cref="Reset"/>).</summary>
    public Task WaitAsync() => Volatile.Read(ref _next).Task;

    /// <summary>Called before a pass reads the state: wakes from now on ask for another pass.</summary>
    public void Reset()
    {
        var current = Volatile.Read(ref _next);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }
}

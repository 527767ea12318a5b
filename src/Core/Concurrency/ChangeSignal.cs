namespace Berth.Core.Concurrency;

/// <summary>
/// A level-triggered wake-up: take <see cref="Next"/>, look at the state, then await it; any <see cref="Notify"/>
/// after taking it completes it, so no change is missed between look and wait.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The task the next <see cref="Notify"/> completes. Take it before looking at the state it guards, so a change
    /// made in between still wakes the waiter.
    /// </summary>
    public Task Next => Volatile.Read(ref _current).Task;

    /// <summary>Wakes everyone waiting on the current <see cref="Next"/> and starts a fresh one for later waiters.</summary>
    public void Notify() =>
        Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

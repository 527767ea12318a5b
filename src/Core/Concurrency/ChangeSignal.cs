namespace Berth.Core.Concurrency;

/// <summary>
/// A level-triggered wake-up: take <see cref="Next"/>, look at the state, then await it; any <see cref="Notify"/>
/// after taking it completes it, so no change is missed between look and wait.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _current).Task;

    public void Notify() =>
        Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

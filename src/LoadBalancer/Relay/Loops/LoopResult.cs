using System.Runtime.CompilerServices;

namespace Berth.LoadBalancer.Relay.Loops;

/// <summary>
/// What a <see cref="LoopSocket"/>'s receive or send gives to await: the byte count (or the error) at once when the
/// socket was ready, or its waiting operation's. Awaited once, on the loop's thread. Not a ValueTask: awaiting the
/// operation directly costs no interface dispatch and no version checks per request (docs/benchmarks.md, "Load
/// balancer, eighth round").
/// </summary>
internal readonly struct LoopResult : ICriticalNotifyCompletion
{
    private readonly LoopSocket.Operation? _wait;
    private readonly int _value;
    private readonly Exception? _error;

    public LoopResult(int value) => _value = value;

    public LoopResult(Exception error) => _error = error;

    internal LoopResult(LoopSocket.Operation wait) => _wait = wait;

    public bool IsCompleted => _wait is null || _wait.IsCompleted;

    public LoopResult GetAwaiter() => this;

    public int GetResult() => _wait is not null ? _wait.GetResult() : _error is null ? _value : throw _error;

    public void OnCompleted(Action continuation) => _wait!.OnCompleted(continuation);

    public void UnsafeOnCompleted(Action continuation) => _wait!.OnCompleted(continuation);
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Berth.Scheduler.V1;
using Grpc.Core;
using V1 = Berth.Scheduler.V1;

namespace Berth.Bench.LoadBalancerPropagation;

/// <summary>One register or deregister call and when each replica served it.</summary>
internal sealed class Operation(string group, string target, string change, int replicas)
{
    public string Group { get; } = group;

    public string Target { get; } = target;

    /// <summary><c>registered</c> or <c>draining</c>: the change a replica logs for it.</summary>
    public string Change { get; } = change;

    public DateTime Sent { get; set; }

    public DateTime Replied { get; set; }

    public bool Failed { get; set; }

    public DateTime?[] AppliedAt { get; } = new DateTime?[replicas];

    public bool Measured { get; set; }
}

/// <summary>
/// The churn: an open-loop schedule of single-target RegisterTargets and DeregisterTargets calls at a fixed rate,
/// visiting the groups round robin; each visit alternately registers a new target and deregisters the group's oldest,
/// so every group holds 10-11 registered targets (plus what is draining). Calls are not awaited before the next one is
/// due: a slow scheduler shows as latency, not as a lower rate.
/// </summary>
internal sealed class Churn(V1.LoadBalancing.LoadBalancingClient lb, Func<CallOptions> admin, IReadOnlyList<string> groups,
    Dictionary<string, Queue<string>> targets, Func<string> nextTarget, IReadOnlyList<BalancerReplica> replicas)
{
    private readonly ConcurrentDictionary<(string Target, string Change), Operation> _pending = new();
    private readonly List<Operation> _operations = [];
    private int _unknownLines;

    public IReadOnlyList<Operation> Operations => _operations;

    public int UnknownLines => _unknownLines;

    public void Attach()
    {
        foreach (var replica in replicas)
        {
            replica.TargetApplied += OnApplied;
        }
    }

    private void OnApplied(BalancerReplica replica, TargetApplied applied)
    {
        if (applied.Change == "removed")
        {
            return;
        }

        if (_pending.TryGetValue((applied.Target, applied.Change), out var op))
        {
            op.AppliedAt[replica.Index] ??= applied.At;
        }
        else
        {
            Interlocked.Increment(ref _unknownLines);
        }
    }

    /// <summary>Runs <paramref name="count"/> operations at <paramref name="rate"/> per second; measured ones after <paramref name="warmup"/>.</summary>
    public async Task RunAsync(int count, double rate, int warmup, Action<int>? progress = null)
    {
        var calls = new List<Task>(count);
        var clock = Stopwatch.StartNew();
        for (var k = 0; k < count; k++)
        {
            var due = TimeSpan.FromSeconds(k / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var group = groups[k % groups.Count];
            var register = (k / groups.Count) % 2 == 0;
            var queue = targets[group];
            var target = register ? nextTarget() : queue.Dequeue();
            if (register)
            {
                queue.Enqueue(target);
            }

            var op = new Operation(group, target + ":8080", register ? "registered" : "draining", replicas.Count) { Measured = k >= warmup };
            _operations.Add(op);
            _pending[(op.Target, op.Change)] = op;
            calls.Add(CallAsync(op, register, target));
            progress?.Invoke(k);
        }

        await Task.WhenAll(calls);
    }

    private async Task CallAsync(Operation op, bool register, string target)
    {
        op.Sent = DateTime.UtcNow;
        try
        {
            if (register)
            {
                await lb.RegisterTargetsAsync(new RegisterTargetsRequest { TargetGroupArn = op.Group, Targets = { new TargetDescription { Id = target, Port = 8080 } } }, admin());
            }
            else
            {
                await lb.DeregisterTargetsAsync(new DeregisterTargetsRequest { TargetGroupArn = op.Group, Targets = { new TargetDescription { Id = target, Port = 8080 } } }, admin());
            }
        }
        catch (RpcException e)
        {
            op.Failed = true;
            Console.WriteLine($"  {op.Change} {op.Target}: {e.Status}");
        }

        op.Replied = DateTime.UtcNow;
    }

    /// <summary>Waits until every replica applied every operation, or the timeout.</summary>
    public async Task WaitForAllAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && _operations.Any(o => !o.Failed && o.AppliedAt.Any(a => a is null)))
        {
            await Task.Delay(100);
        }
    }
}

using Berth.Core.Concurrency;
using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;

namespace Berth.LoadBalancer.Health;

/// <summary>
/// Active health checks: one loop per registered target of each group with checks on, a check every interval
/// (start to start, on the injected clock), the first one at once. Loops follow the configuration: a new target gets
/// one, a draining or removed target's stops, a changed health check restarts it.
/// </summary>
internal sealed partial class HealthProber(
    ConfigStore store,
    TargetHealthTable table,
    HealthCheckClient client,
    TimeProvider time,
    ILogger<HealthProber> logger) : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Group, string Target), ProbeLoop> _loops = [];
    private CancellationToken _stopping;

    /// <summary>Completes whenever a check starts or ends (tests wait on it instead of sleeping).</summary>
    public ChangeSignal Activity { get; } = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        store.Changed += Reconcile;
        if (store.Current is { } current)
        {
            Reconcile(ModelChange.Whole(null, current));
        }

        var done = new TaskCompletionSource();
        stoppingToken.Register(() =>
        {
            store.Changed -= Reconcile;
            lock (_lock)
            {
                foreach (var loop in _loops.Values)
                {
                    Stop(loop);
                }

                _loops.Clear();
            }

            done.SetResult();
        });
        return done.Task;
    }

    private void Reconcile(ModelChange change)
    {
        // The table already follows the model (ConfigStore reconciles it before raising Changed).
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            // A change of targets only revisits the loops of the groups it touched; the others keep running untouched.
            var groups = change.OnlyTargets
                ? change.TargetsChangedIn!.Select(arn => change.Current.TargetGroups[arn])
                : change.Current.TargetGroups.Values;
            var wanted = new HashSet<(string, string)>();
            foreach (var group in groups)
            {
                if (!group.HealthCheck.Enabled)
                {
                    continue;
                }

                foreach (var target in group.Targets)
                {
                    if (target.Draining || table.Find(group.Arn, target.Key) is not { } entry)
                    {
                        continue;
                    }

                    var key = (group.Arn, target.Key);
                    wanted.Add(key);
                    var shape = new ProbeShape(group.HealthCheck, group.Protocol, group.ProtocolVersion);
                    if (_loops.TryGetValue(key, out var existing) && existing.Shape == shape && existing.Entry == entry)
                    {
                        existing.Group = group;
                        continue;
                    }

                    Stop(existing);
#pragma warning disable CA2000 // the loop owns its source; Stop(loop) cancels and disposes it.
                    var loop = new ProbeLoop(shape, entry, CancellationTokenSource.CreateLinkedTokenSource(_stopping)) { Group = group };
#pragma warning restore CA2000
                    _loops[key] = loop;
                    _ = RunAsync(loop);
                }
            }

            // Loops that may have to go: those of the touched groups' previous targets, or all of them.
            var candidates = change is { OnlyTargets: true, Previous: { } previous }
                ? change.TargetsChangedIn!.SelectMany(arn => previous.TargetGroups[arn].Targets.Select(t => (arn, t.Key))).ToList()
                : [.. _loops.Keys];
            foreach (var key in candidates)
            {
                if (!wanted.Contains(key) && _loops.Remove(key, out var loop))
                {
                    Stop(loop);
                }
            }
        }
    }

    private static void Stop(ProbeLoop? loop)
    {
        if (loop is not null)
        {
            loop.Cancel.Cancel();
            loop.Cancel.Dispose();
        }
    }

    private async Task RunAsync(ProbeLoop loop)
    {
        var ct = loop.Cancel.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var check = loop.Shape.Check;
                // Armed before the check so the period runs start to start, and so a test that saw this check end
                // can advance a fake clock knowing the next one is already scheduled.
                var next = Task.Delay(check.Interval, time, ct);
                using var timeout = new CancellationTokenSource(check.Timeout, time);
                Interlocked.Increment(ref loop.Entry.ChecksStarted);
                Activity.Notify();
                var result = await client.CheckAsync(loop.Group, loop.Entry.Target, timeout.Token, ct);
                if (ct.IsCancellationRequested)
                {
                    return;
                }

                var before = loop.Entry.Current;
                table.Record(loop.Entry, result, check);
                var after = loop.Entry.Current;
                if (!ReferenceEquals(before, after))
                {
                    LogStateChanged(logger, loop.Group.Name, loop.Entry.Target.Key, after.State, after.Reason, after.Description);
                }

                Interlocked.Increment(ref loop.Entry.ChecksCompleted);
                Activity.Notify();
                await next;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A bug here must not leave a target unchecked forever without a trace.
            LogLoopFailed(logger, loop.Group.Name, loop.Entry.Target.Key, ex);
        }
    }

    private sealed record ProbeShape(HealthCheckModel Check, TargetProtocol Protocol, TargetProtocolVersion Version);

    private sealed class ProbeLoop(ProbeShape shape, TargetHealthEntry entry, CancellationTokenSource cancel)
    {
        public ProbeShape Shape { get; } = shape;

        public TargetHealthEntry Entry { get; } = entry;

        public CancellationTokenSource Cancel { get; } = cancel;

        public required TargetGroupModel Group { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target} of {TargetGroup} is {State} {Reason} {Description}")]
    private static partial void LogStateChanged(ILogger logger, string targetGroup, string target, TargetState state, string reason, string description);

    [LoggerMessage(Level = LogLevel.Error, Message = "Health checks of {Target} in {TargetGroup} stopped")]
    private static partial void LogLoopFailed(ILogger logger, string targetGroup, string target, Exception exception);
}

using System.Collections.Concurrent;
using Berth.Core.Concurrency;
using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Health;

/// <summary>
/// The health of every target of every group as this replica sees it: probes and passive ejections write it, the
/// routing filter reads it (on every request, so reads are lock-free), the watch client reports its changes.
/// </summary>
internal sealed class TargetHealthTable(TimeProvider time)
{
    /// <summary>
    /// How long a passive ejection lasts in a group without active checks, where no probe can bring the target back:
    /// ELB's default check interval. A target that still refuses is ejected again by the next failed connection (and
    /// that GET retried elsewhere), so a dead target costs one retried request per period, not an outage of a live one.
    /// </summary>
    public static readonly TimeSpan PassiveReactivation = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(string Group, string Target), TargetHealthEntry> _entries = new();
    private long _stamp;
    private long _routingVersion;

    /// <summary>Completes on every visible change (state or reason).</summary>
    public ChangeSignal Changed { get; } = new();

    /// <summary>Grows whenever which targets may receive requests could have changed; routing caches key on it.</summary>
    public long RoutingVersion => Volatile.Read(ref _routingVersion);

    /// <summary>The newest change stamp; <see cref="ChangedSince"/> takes one.</summary>
    public long Stamp => Volatile.Read(ref _stamp);

    public TargetHealthEntry? Find(string group, string target) => _entries.GetValueOrDefault((group, target));

    public IEnumerable<TargetHealthEntry> Entries => _entries.Values;

    /// <summary>Entries whose snapshot changed after <paramref name="stamp"/>.</summary>
    /// <remarks>
    /// Enumerates the dictionary itself, lock-free: <c>Values</c> would take every lock and copy all entries into a new
    /// list, after every delta (7 % of a replica's CPU under registration churn at 10,000 targets, docs/benchmarks.md,
    /// "Load balancer propagation, third round"). An entry changed during the walk may or may not be seen; the next
    /// report, which starts from the stamp read before this one, carries it.
    /// </remarks>
    public IEnumerable<TargetHealthEntry> ChangedSince(long stamp)
    {
        foreach (var (_, entry) in _entries)
        {
            if (entry.Current.Generation > stamp)
            {
                yield return entry;
            }
        }
    }

    /// <summary>
    /// Brings the table in line with a configuration: new targets start <c>initial</c> (or <c>unavailable</c> without
    /// checks), deregistered ones become <c>draining</c>, re-registered ones start over, removed ones go. A change of
    /// targets only visits the groups it touched; every other entry is left as it is.
    /// </summary>
    public void Reconcile(ModelChange change)
    {
        var now = time.GetUtcNow();
        if (change is { OnlyTargets: true, Previous: { } previous, TargetsChangedIn: { } touched })
        {
            foreach (var arn in touched)
            {
                var group = change.Current.TargetGroups[arn];
                ReconcileGroup(group, now, null);
                var live = group.Targets.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
                foreach (var gone in previous.TargetGroups[arn].Targets)
                {
                    if (!live.Contains(gone.Key))
                    {
                        Forget((arn, gone.Key));
                    }
                }
            }
        }
        else
        {
            var live = new HashSet<(string, string)>();
            foreach (var group in change.Current.TargetGroups.Values)
            {
                ReconcileGroup(group, now, live);
            }

            foreach (var key in _entries.Keys)
            {
                if (!live.Contains(key))
                {
                    Forget(key);
                }
            }
        }

        Interlocked.Increment(ref _routingVersion);
        Changed.Notify();
    }

    private void ReconcileGroup(TargetGroupModel group, DateTimeOffset now, HashSet<(string, string)>? live)
    {
        foreach (var target in group.Targets)
        {
            var key = (group.Arn, target.Key);
            live?.Add(key);
            var entry = _entries.GetOrAdd(key, _ => new TargetHealthEntry(group.Arn, target, Initial(group, target, now, NextStamp())));
            var wasDraining = entry.Target.Draining;
            entry.Target = target;
            entry.ChecksEnabled = group.HealthCheck.Enabled;
            // Draining and checks-off are kept as they are; a target back from draining, or whose group's checks were
            // just turned on, starts over as a new one does.
            if (target.Draining || !group.HealthCheck.Enabled || wasDraining || entry.Current.State == TargetState.Unavailable)
            {
                Publish(entry.Force(Initial(group, target, now, NextStamp())));
            }
        }
    }

    /// <summary>Counts a health check's outcome.</summary>
    public void Record(TargetHealthEntry entry, ProbeResult result, HealthCheckModel check) =>
        Publish(entry.Record(result, check, time.GetUtcNow(), NextStamp()));

    /// <summary>Passive health: a connection to the target failed. True when this took it out of rotation.</summary>
    public bool Eject(string group, string target, string description)
    {
        if (Find(group, target) is not { } entry)
        {
            return false;
        }

        var changed = entry.Eject(description, time.GetUtcNow(), NextStamp());
        Publish(changed);
        if (changed is not null && !entry.ChecksEnabled)
        {
            var ejection = changed.Generation;
            entry.SetReinstatement(time.CreateTimer(
                _ => Publish(entry.Reinstate(ejection, time.GetUtcNow(), NextStamp())), null, PassiveReactivation, Timeout.InfiniteTimeSpan));
        }

        return changed is not null;
    }

    private void Forget((string Group, string Target) key)
    {
        if (_entries.TryRemove(key, out var gone))
        {
            gone.SetReinstatement(null);
        }
    }

    // The state the configuration alone gives a target: where a new one starts and where Force puts a changed one.
    private static HealthSnapshot Initial(TargetGroupModel group, TargetModel target, DateTimeOffset now, long stamp) =>
        target.Draining ? HealthSnapshot.Deregistering(now, stamp)
        : group.HealthCheck.Enabled ? HealthSnapshot.InitialChecking(now, stamp)
        : HealthSnapshot.ChecksDisabled(now, stamp);

    private long NextStamp() => Interlocked.Increment(ref _stamp);

    private void Publish(HealthSnapshot? changed)
    {
        if (changed is null)
        {
            return;
        }

        Interlocked.Increment(ref _routingVersion);
        Changed.Notify();
    }
}

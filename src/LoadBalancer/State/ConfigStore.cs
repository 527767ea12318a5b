using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Model;
using V1 = Berth.Scheduler.V1;

namespace Berth.LoadBalancer.State;

/// <summary>
/// The configuration being served: the wire form (to apply deltas to and to cache) and the compiled
/// <see cref="BalancerModel"/>. A snapshot or delta that does not validate is refused whole and the last good
/// configuration stays (fail static). At start it loads the cached copy, so a balancer restarted while the
/// scheduler is down serves what it served before.
/// </summary>
internal sealed partial class ConfigStore
{
    private readonly Lock _lock = new();
    private readonly ConfigCacheWriter _cache;
    private readonly TargetHealthTable _health;
    private readonly ILogger<ConfigStore> _logger;
    private V1.BalancerConfig? _wire;
    private volatile BalancerModel? _current;

    public ConfigStore(ConfigCacheWriter cache, TargetHealthTable health, ILogger<ConfigStore> logger)
    {
        _cache = cache;
        _health = health;
        _logger = logger;
        if (cache.Load() is { } cached)
        {
            try
            {
                var model = ModelBuilder.Build(cached.Epoch, cached.Version, cached.Config);
                _wire = cached.Config;
                health.Reconcile(ModelChange.Whole(null, model));
                _current = model;
                LogCacheLoaded(logger, cached.Epoch, cached.Version, model.Listeners.Length, model.TargetGroups.Count);
            }
            catch (ConfigValidationException ex)
            {
                LogCacheRefused(logger, ex.Message);
            }
        }
    }

    /// <summary>The model served now; null before any configuration arrived.</summary>
    public BalancerModel? Current => _current;

    /// <summary>
    /// Raised under the store's lock after every change, in order, with the new model and what changed. Handlers do no
    /// I/O beyond small files and must not throw; they apply a <see cref="ModelChange.OnlyTargets"/> change group by
    /// group (under registration churn that is nearly every change, and a rebuild costs the whole configuration).
    /// </summary>
    public event Action<ModelChange>? Changed;

    /// <summary>Replaces the configuration. Returns the refusal reason, or null when applied.</summary>
    public string? ApplySnapshot(V1.ConfigSnapshot snapshot)
    {
        lock (_lock)
        {
            return Publish(snapshot.Epoch, snapshot.Version, snapshot.Config ?? new V1.BalancerConfig(), null);
        }
    }

    /// <summary>
    /// Applies a delta. Returns <see cref="DeltaResult.Resync"/> when it does not follow the version held (the caller
    /// reconnects for a snapshot), <see cref="DeltaResult.Refused"/> with a reason when it does not validate.
    /// </summary>
    public (DeltaResult Result, string? Reason) ApplyDelta(V1.ConfigDelta delta)
    {
        lock (_lock)
        {
            if (_wire is null || _current is null || delta.Epoch != _current.Epoch || delta.BaseVersion != _current.Version)
            {
                return (DeltaResult.Resync, $"delta {delta.Epoch}/{delta.BaseVersion}->{delta.Version} does not follow {_current?.Epoch}/{_current?.Version}");
            }

            V1.BalancerConfig next;
            try
            {
                next = ConfigDeltaApplier.Apply(_wire, delta);
            }
            catch (ConfigValidationException ex)
            {
                LogRefused(_logger, delta.Version, ex.Message);
                return (DeltaResult.Refused, ex.Message);
            }

            var reason = Publish(delta.Epoch, delta.Version, next, TargetGroupsOnlyTargetsOf(delta));
            if (reason is not null)
            {
                return (DeltaResult.Refused, reason);
            }

            LogTargetChanges(delta);
            return (DeltaResult.Applied, null);
        }
    }

    /// <summary>
    /// The groups whose targets <paramref name="delta"/> changes, or null when it changes anything else as well (then
    /// the model is built whole).
    /// </summary>
    private static HashSet<string>? TargetGroupsOnlyTargetsOf(V1.ConfigDelta delta)
    {
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in delta.Changes)
        {
            switch (change.ChangeCase)
            {
                case V1.ConfigChange.ChangeOneofCase.TargetUpserted:
                    groups.Add(change.TargetUpserted.TargetGroupArn);
                    break;
                case V1.ConfigChange.ChangeOneofCase.TargetRemoved:
                    groups.Add(change.TargetRemoved.TargetGroupArn);
                    break;
                default:
                    return null;
            }
        }

        return groups;
    }

    private string? Publish(string epoch, long version, V1.BalancerConfig config, HashSet<string>? onlyTargetsOf)
    {
        var previous = _current;
        ModelChange change;
        try
        {
            // A delta of targets only recompiles the groups it touched (about 60 ms of CPU for a whole rebuild at
            // 10,000 targets against well under one for one group: docs/benchmarks.md, "Load balancer propagation").
            change = previous is not null && onlyTargetsOf is not null
                ? new ModelChange(previous, ModelBuilder.WithTargets(previous, version, config, onlyTargetsOf), onlyTargetsOf)
                : ModelChange.Whole(previous, ModelBuilder.Build(epoch, version, config));
        }
        catch (ConfigValidationException ex)
        {
            LogRefused(_logger, version, ex.Message);
            return ex.Message;
        }

        var model = change.Current;
        _wire = config;
        // Target states first: the moment routing sees a new destination, it must find its state (initial, or
        // unavailable without checks), not nothing.
        _health.Reconcile(change);
        _current = model;
        _cache.Save(new V1.ConfigSnapshot { Epoch = epoch, Version = version, Config = config });
        LogApplied(_logger, epoch, version, model.Listeners.Length, model.TargetGroups.Count);
        Changed?.Invoke(change);
        return null;
    }

    /// <summary>
    /// At Debug, one line per target change once routing serves it: what an operator follows to see when a
    /// registration reached this replica (bench/LoadBalancerPropagation times these lines, docs/benchmarks.md).
    /// </summary>
    private void LogTargetChanges(V1.ConfigDelta delta)
    {
        if (!_logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        foreach (var change in delta.Changes)
        {
            var (target, kind) = change.ChangeCase switch
            {
                V1.ConfigChange.ChangeOneofCase.TargetUpserted => (change.TargetUpserted,
                    change.TargetUpserted.Target?.Registration == V1.TargetRegistration.Draining ? "draining" : "registered"),
                V1.ConfigChange.ChangeOneofCase.TargetRemoved => (change.TargetRemoved, "removed"),
                _ => (null, ""),
            };
            if (target?.Target?.Target is { } description)
            {
                LogTargetChanged(_logger, delta.Version, description.Id, description.Port, kind, target.TargetGroupArn);
            }
        }
    }

    /// <summary>The wire form served now (a copy), for tests and the status page.</summary>
    public V1.BalancerConfig? WireCopy()
    {
        lock (_lock)
        {
            return _wire?.Clone();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving the cached configuration {Epoch}/{Version}: {Listeners} listeners, {TargetGroups} target groups")]
    private static partial void LogCacheLoaded(ILogger logger, string epoch, long version, int listeners, int targetGroups);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cached configuration is not valid and is ignored: {Reason}")]
    private static partial void LogCacheRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration version {Version} refused; the last good one stays: {Reason}")]
    private static partial void LogRefused(ILogger logger, long version, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Version {Version} serves target {Target}:{Port} {Change} in {TargetGroup}")]
    private static partial void LogTargetChanged(ILogger logger, long version, string target, int port, string change, string targetGroup);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration {Epoch}/{Version} applied: {Listeners} listeners, {TargetGroups} target groups")]
    private static partial void LogApplied(ILogger logger, string epoch, long version, int listeners, int targetGroups);
}

internal enum DeltaResult
{
    Applied,
    Refused,
    Resync,
}

using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Services;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Scaling;

/// <summary>
/// The service auto scaling pass (a <see cref="BackgroundService"/> on the injected clock, every
/// <see cref="ScalingOptions.Interval"/>): for every scalable target of an ACTIVE service it reads the service's
/// metrics, runs <see cref="ScalingPlanner"/>, and when the count changes sets the service's desired count in the
/// same commit as the target's new memory and activity, the way UpdateService changes a count (no new deployment);
/// the reconciler, woken by the commit, starts or stops the tasks. Each change is also a service event.
/// </summary>
internal sealed partial class ScalingRunner(
    StateKernel kernel, TaskStatsStore stats, IOptions<ScalingOptions> options, ILogger<ScalingRunner> logger) : BackgroundService
{
    private long _passes;

    /// <summary>Completed passes, so that tests can tell a pass ran after they moved the clock.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Made before the first await, so the timer exists once the host has started (a test's fake clock moves it).
        using var timer = new PeriodicTimer(options.Value.Interval, kernel.Time);
        using var subscription = kernel.Subscribe(stats);
        try
        {
            await kernel.WhenLoaded.WaitAsync(stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync();
                Interlocked.Increment(ref _passes);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One pass over every cluster with scalable targets; returns how many services changed count.</summary>
    public async Task<int> RunOnceAsync()
    {
        stats.Expire(kernel.Time.GetUtcNow() - options.Value.SampleMaxAge);
        var changed = 0;
        foreach (var cluster in kernel.ClusterNames)
        {
            if (!kernel.ReadCluster(cluster, state => state is { IsActive: true, ScalableTargets.Count: > 0 }))
            {
                continue;
            }

            changed += await kernel.CommitAsync(cluster, Pass);
        }

        return changed;
    }

    private int Pass(ClusterTransaction tx)
    {
        var changed = 0;
        foreach (var target in tx.Cluster.ScalableTargets.Values)
        {
            if (!tx.Cluster.Services.TryGetValue(target.ServiceName, out var service) || service.Status != Statuses.Active || service.IsDaemon)
            {
                continue;
            }

            var scaling = target.Scaling;
            var newestBefore = scaling.Activities.Count > 0 ? scaling.Activities[0] : null;
            var key = ScalableTargetRecord.MetricsKey(tx.Cluster.Name, service.Name);
            var current = service.DesiredCount;
            var lbs = tx.Cluster.LoadBalancing;
            var now = tx.Now;
            var next = ScalingPlanner.Plan(
                scaling,
                current,
                policy => policy.Metric == ScalingMetric.RequestCountPerTarget
                    ? BalancerReports.RequestCountPerTarget(lbs, policy.TargetGroupArn, now)
                    : stats.Metrics.Read(key, policy.Metric),
                now);

            // A count outside the bounds (a target registered or changed around it) moves inside them, as AAS does.
            var bounds = scaling.Target;
            if (next < bounds.MinCapacity || next > bounds.MaxCapacity)
            {
                var clamped = Math.Clamp(next, bounds.MinCapacity, bounds.MaxCapacity);
                var cause = next < bounds.MinCapacity
                    ? $"the desired count {next} was below the minimum capacity {bounds.MinCapacity}"
                    : $"the desired count {next} was above the maximum capacity {bounds.MaxCapacity}";
                scaling.Record(new ScalingActivity(tx.Now, next, clamped, cause, $"Setting desired count to {clamped} (from {next})."));
                next = clamped;
            }

            var newest = scaling.Activities.Count > 0 ? scaling.Activities[0] : null;
            if (!ReferenceEquals(newest, newestBefore))
            {
                // Only a pass that decided something is stored: the planner's memory changes only with an activity.
                tx.Save(target);
            }

            if (next == current)
            {
                continue;
            }

            ServiceRules.SetDesiredCount(service, next, tx.Now);
            ServiceRules.AddEvent(service, $"(service {service.Name}) Application Auto Scaling set the desired count from {current} to {next}: {newest?.Cause}.", tx.Now, TimeSpan.Zero, logger);
            tx.Save(service);
            Log.Scaled(logger, tx.Cluster.Name, service.Name, current, next);
            changed++;
        }

        return changed;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Auto scaling: service {Cluster}/{Service} desired count {From} -> {To}")]
        public static partial void Scaled(ILogger logger, string cluster, string service, int from, int to);
    }
}

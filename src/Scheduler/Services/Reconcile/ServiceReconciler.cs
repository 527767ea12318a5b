using Berth.Scheduler.Fargate;
using Berth.Scheduler.Hosting;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Services.Reconcile;

/// <summary>
/// The service reconciler: compares every service's desired state with its tasks and starts or stops tasks
/// (<see cref="ServicePass"/>). Level-triggered: a pass looks at the whole state, not at what changed, so a missed or
/// repeated wake-up costs nothing but a pass. It runs when the change feed reports a change (a service created or
/// updated, a task's state, an instance joining, leaving or changing status) and at least every
/// <see cref="SchedulerOptions.ServiceReconcileInterval"/>. A pass that throws stops the host (the default
/// <c>BackgroundServiceExceptionBehavior</c>) rather than leaving services unattended.
/// </summary>
internal sealed partial class ServiceReconciler : BackgroundService, IChangeObserver
{
    private readonly StateKernel _kernel;
    private readonly PlacementEngine _engine;
    private readonly FargatePool _pool;
    private readonly TimeProvider _time;
    private readonly SchedulerOptions _options;
    private readonly ILogger<ServiceReconciler> _logger;
    private readonly ReconcileSignal _signal = new();

    public ServiceReconciler(StateKernel kernel, PlacementEngine engine, FargatePool pool, TimeProvider time, IOptions<SchedulerOptions> options, ILogger<ServiceReconciler> logger)
    {
        _kernel = kernel;
        _engine = engine;
        _pool = pool;
        _time = time;
        _options = options.Value;
        _logger = logger;
#pragma warning disable CA2000 // subscribed for the kernel's whole life: both are singletons of the same host.
        kernel.Subscribe(this);
#pragma warning restore CA2000
    }

    /// <summary>Every committed change may matter to a service: wake for another pass.</summary>
    public void OnCommitted(CommittedChange change) => _signal.Wake();

    /// <summary>Asks for another pass without a commit (a balancer's health report changed what a service sees).</summary>
    public void Wake() => _signal.Wake();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.ServiceReconcileInterval, _time);
        Task<bool>? tick = null;
        try
        {
            await _kernel.WhenLoaded.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = await ReconcileAsync(stoppingToken);
                if (changed > 0)
                {
                    Log.PassChanged(_logger, changed);
                }

                // A periodic timer allows one pending wait: keep it across wake-ups until it ticks.
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                var woken = await Task.WhenAny(tick, _signal.WaitAsync().WaitAsync(stoppingToken));
                if (woken == tick)
                {
                    await tick;
                    tick = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// Reconciles every ACTIVE and DRAINING service of every cluster once. Each service is its own commit (one cluster
    /// lock per service, not per pass: API calls and agent reports interleave with a long pass); all are queued before
    /// any is awaited, so they share group commits. Returns how many services changed; 0 means nothing to do.
    /// </summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        await _kernel.WhenLoaded;
        // Wakes from now on ask for another pass: what changes while this one runs is looked at again.
        _signal.Reset();
        var interval = _options.ServiceEventRepeatInterval;
        var commits = new List<Task<bool>>();
        foreach (var cluster in _kernel.ClusterNames)
        {
            var names = _kernel.ReadCluster(cluster, c => c?.Services.Values.Where(s => s.Status != Statuses.Inactive).Select(s => s.Name).ToList() ?? []);
            foreach (var name in names)
            {
                cancellationToken.ThrowIfCancellationRequested();
                commits.Add(_kernel.CommitAsync(cluster, tx =>
                    tx.Cluster.Services.TryGetValue(name, out var service) && service.Status != Statuses.Inactive
                    && ServicePass.Run(tx, service, _engine, _pool, interval, _options.ServiceThrottle, _logger)));
            }
        }

        var changed = 0;
        foreach (var commit in commits)
        {
            if (await commit)
            {
                changed++;
            }
        }

        return changed;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Service reconcile pass changed {Count} services")]
        public static partial void PassChanged(ILogger logger, int count);
    }
}

/// <summary>
/// Wakes the service reconciler: set by every committed change, awaited between passes. Wakes coalesce: many changes
/// during a pass cause one more pass.
/// </summary>
internal sealed class ReconcileSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Marks that something changed. Cheap and non-blocking.</summary>
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

using Berth.Scheduler.Fargate;
using Berth.Scheduler.HostGroups;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Placement;
using Berth.Scheduler.Services.Reconcile;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.CapacityProviders;

/// <summary>
/// The capacity providers' pass (a <see cref="BackgroundService"/> on the injected clock): per cluster, one commit that
/// places the tasks waiting in PROVISIONING where a host now has room (<see cref="ProvisioningPass"/>) and stops those
/// past the timeout, then lets managed scaling set each provider's host group size (<see cref="ManagedScalingPass"/>).
/// It runs after every committed change (a host registering or a task stopping may make room) and every
/// <see cref="CapacityProviderOptions.Interval"/> (timeouts and the scale-in period are about time passing).
/// </summary>
internal sealed partial class CapacityProviderReconciler : BackgroundService, IChangeObserver
{
    private readonly StateKernel _kernel;
    private readonly PlacementEngine _engine;
    private readonly HostGroupSignal _groups;
    private readonly CapacityProviderOptions _options;
    private readonly FargatePool _pool;
    private readonly ILogger<CapacityProviderReconciler> _logger;
    private readonly ReconcileSignal _signal = new();
    private readonly SemaphoreSlim _pass = new(1, 1);
    private long _passes;

    public CapacityProviderReconciler(StateKernel kernel, PlacementEngine engine, HostGroupSignal groups, IOptions<CapacityProviderOptions> options, FargatePool pool, ILogger<CapacityProviderReconciler> logger)
    {
        _pool = pool;
        _kernel = kernel;
        _engine = engine;
        _groups = groups;
        _options = options.Value;
        _logger = logger;
#pragma warning disable CA2000 // subscribed for the kernel's whole life: both are singletons of the same host.
        kernel.Subscribe(this);
#pragma warning restore CA2000
    }

    /// <summary>Completed passes, so that tests can tell a pass ran after they moved the clock.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    public void OnCommitted(CommittedChange change) => _signal.Wake();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Made before the first await, so the timer exists once the host has started (a test's fake clock moves it).
        using var timer = new PeriodicTimer(_options.Interval, _kernel.Time);
        Task<bool>? tick = null;
        try
        {
            await _kernel.WhenLoaded.WaitAsync(stoppingToken);
            var full = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                await RunAsync(full, stoppingToken);
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                var woken = await Task.WhenAny(tick, _signal.WaitAsync().WaitAsync(stoppingToken));
                full = woken == tick;
                if (full)
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

    /// <summary>One pass over every cluster; passes never overlap. Returns how many waiting tasks were placed.</summary>
    public Task<int> RunOnceAsync(CancellationToken cancellationToken) => RunAsync(full: true, cancellationToken);

    /// <summary>
    /// A pass. A wake by a committed change (<paramref name="full"/> false) looks only at clusters with waiting tasks:
    /// every agent report is a commit, and only waiting tasks can gain from one at once; managed scaling elsewhere waits
    /// for the timer.
    /// </summary>
    private async Task<int> RunAsync(bool full, CancellationToken cancellationToken)
    {
        await _kernel.WhenLoaded;
        await _pass.WaitAsync(cancellationToken);
        try
        {
            // Wakes from now on ask for another pass: what changes while this one runs is looked at again.
            _signal.Reset();
            var placed = 0;
            var resized = false;
            foreach (var cluster in _kernel.ClusterNames)
            {
                if (!_kernel.ReadCluster(cluster, state => state is not null && (state.Provisioning.Count > 0 || (full && state.CapacityProviders.Count > 0))))
                {
                    continue;
                }

                var (p, r) = await _kernel.CommitAsync(cluster, tx =>
                    (ProvisioningPass.Run(tx, _engine, _options.ProvisioningTimeout, _logger), ManagedScalingPass.Run(tx, _options, _pool, _logger)));
                placed += p;
                resized |= r;
            }

            if (resized)
            {
                _groups.Wake();
            }

            if (placed > 0)
            {
                Log.Placed(_logger, placed);
            }

            Interlocked.Increment(ref _passes);
            return placed;
        }
        finally
        {
            _pass.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Capacity provider pass placed {Count} tasks that waited in PROVISIONING")]
        public static partial void Placed(ILogger logger, int count);
    }
}

using Berth.Scheduler.Hosting;
using Berth.Scheduler.State;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Services;

/// <summary>
/// The service reconciler: compares every service's desired state with its tasks and starts or stops tasks
/// (<see cref="SchedulerState.ReconcileServicesAsync"/>). Level-triggered: a pass looks at the whole state, not at
/// what changed, so a missed or repeated wake-up costs nothing but a pass. It runs when a change wakes it (a service
/// created or updated, a task's state, an instance joining, leaving or changing status) and at least every
/// <see cref="SchedulerOptions.ServiceReconcileInterval"/>. A pass that throws stops the host (the default
/// <c>BackgroundServiceExceptionBehavior</c>) rather than leaving services unattended.
/// </summary>
internal sealed partial class ServiceReconciler(SchedulerState state, TimeProvider time, IOptions<SchedulerOptions> options, ILogger<ServiceReconciler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.ServiceReconcileInterval, time);
        Task<bool>? tick = null;
        try
        {
            await state.WhenLoaded.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = await state.ReconcileServicesAsync(settings.ServiceEventRepeatInterval, stoppingToken);
                if (changed > 0)
                {
                    Log.PassChanged(logger, changed);
                }

                // A periodic timer allows one pending wait: keep it across wake-ups until it ticks.
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                var woken = await Task.WhenAny(tick, state.ReconcileSignal.WaitAsync().WaitAsync(stoppingToken));
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Service reconcile pass changed {Count} services")]
        public static partial void PassChanged(ILogger logger, int count);
    }
}

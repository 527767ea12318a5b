using Berth.Scheduler.State;

namespace Berth.Scheduler.Hosting;

/// <summary>
/// Loads the state at start-up. The load runs beside the server's own start-up (Kestrel, the first calls' JIT) rather
/// than before it: nothing is answered before it completes, because every call waits for
/// <see cref="SchedulerState.WhenLoaded"/> in the auth interceptor. A failed load stops the host (the default
/// <c>BackgroundServiceExceptionBehavior.StopHost</c>) with a non-zero exit code.
/// </summary>
internal sealed class StateLoader(SchedulerState state) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Task.Run: the load is mostly synchronous work, which would otherwise run inside StartAsync.
            await Task.Run(() => state.LoadAsync(stoppingToken), stoppingToken);
        }
        catch when (!stoppingToken.IsCancellationRequested)
        {
            Environment.ExitCode = 1;
            throw;
        }
    }
}

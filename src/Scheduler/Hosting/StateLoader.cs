using Berth.Scheduler.Kernel;
using Berth.Scheduler.Retention;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Hosting;

/// <summary>
/// Loads the state at start-up. The load runs beside the server's own start-up (Kestrel, the first calls' JIT) rather
/// than before it: nothing is answered before it completes, because every call waits for
/// <see cref="StateKernel.WhenLoaded"/> in the auth interceptor. A failed load stops the host (the default
/// <c>BackgroundServiceExceptionBehavior.StopHost</c>) with a non-zero exit code.
/// </summary>
internal sealed class StateLoader(StateKernel kernel, TimeProvider time, IOptions<RetentionOptions> retention) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Task.Run: the load is mostly synchronous work, which would otherwise run inside StartAsync.
            await Task.Run(() => kernel.LoadAsync(time.GetUtcNow() - retention.Value.Visibility, stoppingToken), stoppingToken);
        }
        catch when (!stoppingToken.IsCancellationRequested)
        {
            Environment.ExitCode = 1;
            throw;
        }
    }
}

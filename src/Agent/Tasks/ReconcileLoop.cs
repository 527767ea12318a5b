using Berth.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>Runs <see cref="TaskEngine.ReconcileAsync"/> whenever something kicks it and at least every <c>ReconcileInterval</c>.</summary>
internal sealed class ReconcileLoop(TaskEngine engine, IOptions<AgentOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval, time);
        Task<bool>? tick = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var kick = engine.KickRequested;
            await engine.ReconcileAsync(stoppingToken);
            tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
            await Task.WhenAny(kick, tick).WaitAsync(stoppingToken);
            if (tick.IsCompleted)
            {
                tick = null;
            }
        }
    }
}

using Berth.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Networking;

/// <summary>
/// Keeps the host's awsvpc plumbing converged: on every change (a desired state, a task attached or gone) and every
/// <c>Awsvpc:ResyncInterval</c> (then forcefully, so that rules flushed by someone else come back).
/// </summary>
internal sealed partial class NetworkSyncLoop(TaskNetworking networking, IOptions<AgentOptions> options, TimeProvider time, ILogger<NetworkSyncLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Awsvpc.ResyncInterval, time);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        var force = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            var changed = networking.Changed;
            try
            {
                await networking.SyncAsync(force, stoppingToken);
            }
            catch (NetworkSetupException ex)
            {
                LogSyncFailed(logger, ex.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await Task.WhenAny(changed, tick);
            force = tick.IsCompleted;
            if (force)
            {
                if (!await tick)
                {
                    return;
                }

                tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            }
        }
    }
}

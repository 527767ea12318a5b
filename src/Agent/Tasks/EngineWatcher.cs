using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>
/// Follows the engine's events for this agent's containers (die, health_status, ...) and kicks a reconcile on
/// each, so an exit or a health change is reported within a second. When the stream breaks (dockerd restarting)
/// it marks the engine down, polls until it answers again, and kicks a full reconcile.
/// </summary>
internal sealed partial class EngineWatcher(IContainerRuntime runtime, TaskEngine engine, IOptions<AgentOptions> options, TimeProvider time, ILogger<EngineWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var labels = new Dictionary<string, string> { [ContainerLabels.Agent] = options.Value.Scope };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await runtime.GetInfoAsync(stoppingToken);
                engine.MarkEngineUp();

                // Events that happened before the stream opened are caught by this reconcile.
                engine.Kick();
                await foreach (var e in runtime.WatchEventsAsync(labels, stoppingToken))
                {
                    LogEvent(logger, e.Action, e.ContainerId);
                    engine.Kick();
                }
            }
            catch (EngineUnavailableException ex)
            {
                engine.MarkEngineDown(ex.Message);
            }
            catch (ContainerRuntimeException ex)
            {
                engine.MarkEngineDown(ex.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), time, stoppingToken);
        }
    }
}

using Berth.Agent.Configuration;
using Berth.Agent.Runtime;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Tasks;

/// <summary>Every <c>TaskCleanup.Interval</c>: one <see cref="StoppedTaskRetention.SweepAsync"/> round (kept containers, saved lines).</summary>
internal sealed partial class StoppedTaskCleanupService(
    StoppedTaskRetention retention,
    IContainerRuntime runtime,
    IDiskUsageProbe disk,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<StoppedTaskCleanupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.TaskCleanup.Interval, time);
        do
        {
            try
            {
                var root = (await runtime.GetInfoAsync(stoppingToken)).RootDirectory;
                await retention.SweepAsync(() => UsedPercent(root), stoppingToken);
            }
            catch (Exception ex) when (ex is EngineUnavailableException or ContainerRuntimeException or IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    // The engine's root directory may not be visible to the agent (an agent in a container): then only time and count apply.
    private double UsedPercent(string root)
    {
        try
        {
            return disk.UsedPercent(root);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped-task cleanup failed this round: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}

using Berth.Scheduler.State;

namespace Berth.Scheduler.Hosting;

/// <summary>Loads the state at start-up, before the scheduler answers any call.</summary>
internal sealed class StateLoader(SchedulerState state) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => state.LoadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

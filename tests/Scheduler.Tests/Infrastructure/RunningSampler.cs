namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>
/// Samples, every 20 ms, how many tasks really run on the simulated hosts (all of them, and the healthy ones), and
/// keeps the extremes: what a user of the service would have seen at the worst moment of a deployment.
/// </summary>
internal sealed class RunningSampler : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<string>> _healthy;
    private readonly Func<IReadOnlyList<string>> _running;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RunningSampler(Func<IReadOnlyList<string>> healthy, Func<IReadOnlyList<string>> running)
    {
        _healthy = healthy;
        _running = running;
        _loop = Task.Run(LoopAsync);
    }

    public int MinHealthy { get; private set; } = int.MaxValue;

    public int MaxRunning { get; private set; }

    public int Samples { get; private set; }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            MinHealthy = Math.Min(MinHealthy, _healthy().Count);
            MaxRunning = Math.Max(MaxRunning, _running().Count);
            Samples++;
            try
            {
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

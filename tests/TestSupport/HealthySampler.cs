using Grpc.Core;

namespace Berth.TestSupport;

/// <summary>
/// Counts a service's healthy tasks (RUNNING with a passing health check) every 250 ms until stopped, so a test can
/// show the count never dropped below the deployment's minimum while something moved.
/// </summary>
public sealed class HealthySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<int> _samples = [];
    private readonly Task _loop;

    private HealthySampler(LabPlatform lab, string service, Action<string> log) => _loop = Task.Run(() => SampleAsync(lab, service, log));

    public static HealthySampler Start(LabPlatform lab, string service, Action<string> log) => new(lab, service, log);

    /// <summary>Stops sampling and returns the counts, in order.</summary>
    public async Task<List<int>> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        return _samples;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task SampleAsync(LabPlatform lab, string service, Action<string> log)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _samples.Add(LabPlatform.Healthy(await lab.ServiceTasksAsync(service)).Count);
            }
            catch (RpcException e)
            {
                // A failed read is not a sample; the test fails elsewhere if the scheduler stays away.
                log($"sample failed: {e.Status}");
            }

            try
            {
                await Task.Delay(250, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

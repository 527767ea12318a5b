using Grpc.Core;
using Xunit.Abstractions;

namespace Berth.Agent.Tests.Lab;

/// <summary>
/// Counts a service's healthy tasks (RUNNING with a passing health check) every 250 ms until stopped, so a test can
/// show the count never dropped below the deployment's minimum while something moved.
/// </summary>
internal sealed class HealthySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<int> _samples = [];
    private readonly Task _loop;

    private HealthySampler(ServiceLab lab, string service, ITestOutputHelper output) => _loop = Task.Run(() => SampleAsync(lab, service, output));

    public static HealthySampler Start(ServiceLab lab, string service, ITestOutputHelper output) => new(lab, service, output);

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

    private async Task SampleAsync(ServiceLab lab, string service, ITestOutputHelper output)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _samples.Add(ServiceLab.Healthy(await lab.ServiceTasksAsync(service)).Count);
            }
            catch (RpcException e)
            {
                // A failed read is not a sample; the test fails elsewhere if the scheduler stays away.
                output.WriteLine($"sample failed: {e.Status}");
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

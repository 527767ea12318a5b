using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.Agent.Runtime;

/// <summary>
/// Readiness: the Docker engine answers (its info call, the cheapest probe). An agent whose engine is down keeps its
/// session and reports what it can, but can start nothing.
/// </summary>
internal sealed class EngineHealthCheck(IContainerRuntime runtime) : IHealthCheck
{
    public const string Name = "docker";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var info = await runtime.GetInfoAsync(cancellationToken);
            return HealthCheckResult.Healthy($"engine {info.ServerVersion} answers");
        }
        catch (Exception e) when (e is EngineUnavailableException or ContainerRuntimeException or HttpRequestException or IOException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"the Docker engine does not answer: {e.Message}");
        }
    }
}

using Berth.Scheduler.Kernel;
using Berth.ServiceDefaults.AspNetCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.Scheduler.Hosting;

/// <summary>
/// Readiness: <c>scheduler.db</c> opens and answers a query on a fresh connection (<see cref="SqliteFileProbe"/>).
/// </summary>
internal sealed class DatabaseHealthCheck(SchedulerDataDirectory layout) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await SqliteFileProbe.ProblemAsync(layout.Database, cancellationToken) is { } problem
            ? HealthCheckResult.Unhealthy($"scheduler.db: {problem}")
            : HealthCheckResult.Healthy("scheduler.db answers");
}

/// <summary>
/// Readiness: the state is loaded from the database. Until then every call waits (the auth interceptor), so a
/// scheduler that is still loading a million tasks is alive but not ready.
/// </summary>
internal sealed class StateLoadedHealthCheck(StateKernel kernel) : IHealthCheck
{
    public const string Name = "state";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(kernel.WhenLoaded.Status switch
        {
            TaskStatus.RanToCompletion => HealthCheckResult.Healthy("loaded"),
            TaskStatus.Faulted or TaskStatus.Canceled => HealthCheckResult.Unhealthy("the state failed to load"),
            _ => HealthCheckResult.Unhealthy("loading"),
        });
}

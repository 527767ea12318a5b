using Berth.ServiceDefaults.AspNetCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// Readiness: the registry's two SQLite files (image metadata, accounts) open and answer a query on a fresh
/// connection (<see cref="SqliteFileProbe"/>).
/// </summary>
internal sealed class DatabaseHealthCheck(RegistryDataDirectory layout) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        foreach (var (label, path) in ((string, string)[])[("registry.db", layout.RegistryDatabase), ("auth.db", layout.AuthDatabase)])
        {
            if (await SqliteFileProbe.ProblemAsync(path, cancellationToken) is { } problem)
            {
                return HealthCheckResult.Unhealthy($"{label}: {problem}");
            }
        }

        return HealthCheckResult.Healthy("registry.db and auth.db answer");
    }
}

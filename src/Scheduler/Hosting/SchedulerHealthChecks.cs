using Berth.Scheduler.Kernel;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.Scheduler.Hosting;

/// <summary>
/// Readiness: <c>scheduler.db</c> opens and answers a query on a fresh connection. A fresh one, not the store's own
/// writer connection: that one keeps working on a file that was deleted or a disk that went away.
/// </summary>
internal sealed class DatabaseHealthCheck(SchedulerDataDirectory layout) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // ReadWrite, not ReadWriteCreate: a missing file is a failure here, never an empty database made on the spot.
        var connectionString = new SqliteConnectionStringBuilder { DataSource = layout.Database, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 5 }.ToString();
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_schema";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("scheduler.db answers");
        }
        catch (SqliteException e)
        {
            return HealthCheckResult.Unhealthy($"scheduler.db: {e.Message}");
        }
    }
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

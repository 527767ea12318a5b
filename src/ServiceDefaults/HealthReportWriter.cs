using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Berth.ServiceDefaults;

/// <summary>
/// The body of <c>/healthz</c> and <c>/readyz</c>, the same on every service:
/// <c>{"status":"Unhealthy","checks":{"database":{"status":"Unhealthy","description":"..."}}}</c>, with 200 for
/// Healthy or Degraded and 503 for Unhealthy. Written by hand with <see cref="Utf8JsonWriter"/>: no reflection.
/// </summary>
public static class HealthReportWriter
{
    /// <summary>The HTTP status code for <paramref name="status"/>.</summary>
    public static int StatusCode(HealthStatus status) => status == HealthStatus.Unhealthy ? 503 : 200;

    /// <summary>Writes <paramref name="report"/> as JSON to <paramref name="body"/>.</summary>
    public static async Task WriteAsync(Stream body, HealthReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await using var json = new Utf8JsonWriter(body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            // The check's own sentence only: exception details (paths, stack traces) stay in the service's log.
            if (entry.Description is { Length: > 0 } description)
            {
                json.WriteString("description", description);
            }

            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken);
    }
}

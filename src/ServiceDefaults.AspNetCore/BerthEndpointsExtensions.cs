using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.ServiceDefaults.AspNetCore;

/// <summary><c>app.MapBerthDefaultEndpoints()</c>: the web services' side of <see cref="BerthDefaultsExtensions.AddBerthDefaults"/>.</summary>
public static class BerthEndpointsExtensions
{
    /// <summary>
    /// Maps <c>/healthz</c> (checks tagged <see cref="BerthHealth.Live"/>) and <c>/readyz</c> (<see cref="BerthHealth.Ready"/>),
    /// unauthenticated (probes carry no credentials), with the JSON body of <see cref="HealthReportWriter"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapBerthDefaultEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks(BerthHealth.LivenessPath, Options(BerthHealth.Live));
        endpoints.MapHealthChecks(BerthHealth.ReadinessPath, Options(BerthHealth.Ready));
        return endpoints;
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResultStatusCodes =
        {
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy] = StatusCodes.Status200OK,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded] = StatusCodes.Status200OK,
            [Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = (context, report) =>
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            return HealthReportWriter.WriteAsync(context.Response.Body, report, context.RequestAborted);
        },
    };
}

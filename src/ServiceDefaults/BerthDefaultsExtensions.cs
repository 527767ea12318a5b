using Berth.Core.Hosting;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Berth.ServiceDefaults;

/// <summary>
/// <c>builder.AddBerthDefaults()</c>: what the registry, the scheduler and the agent set up the same way. Each
/// service's <c>Program.cs</c> calls it first, then adds its own parts; the web services map the endpoints with
/// <c>app.MapBerthDefaultEndpoints()</c> (Berth.ServiceDefaults.AspNetCore), the agent serves them with
/// <see cref="HealthListenerExtensions.AddBerthHealthListener"/> when configured.
/// </summary>
public static class BerthDefaultsExtensions
{
    /// <summary>
    /// Logging defaults (framework categories at Warning, overridable by any configuration source), the system clock
    /// as <see cref="TimeProvider"/> (tests replace it), health checks with a liveness check, stop-with-parent for
    /// <c>berth up</c>'s children, and the telemetry hook.
    /// </summary>
    public static TBuilder AddBerthDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Lowest precedence: appsettings, environment and command line all override these.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            {
                // Per-request framework logs cost more than a hot request itself; warnings still show.
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
            },
        });

        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddHealthChecks()
            // Liveness asks nothing of dependencies: a process that answers is alive (a database outage must not make
            // an orchestrator restart every replica).
            .AddCheck("self", () => HealthCheckResult.Healthy("answering"), tags: [BerthHealth.Live]);

        // Under `berth up`: exit with it, even when it is killed (Berth.Core.Hosting.StopWithParent).
        services.AddStopWithParent();
        builder.AddBerthTelemetry();
        return builder;
    }

    /// <summary>
    /// The one place OpenTelemetry plugs in (wave 2, "Seeing it"). Today it registers nothing: the host already
    /// provides <c>IMeterFactory</c>, so features can create <see cref="System.Diagnostics.Metrics.Meter"/>s named
    /// <c>Berth.&lt;Service&gt;.&lt;Feature&gt;</c> and <see cref="System.Diagnostics.ActivitySource"/>s of the same names
    /// now, at no cost while nothing listens. The exporter goes here, once, for every service:
    /// <c>services.AddOpenTelemetry().WithMetrics(m =&gt; m.AddMeter("Berth.*") ...).WithTracing(t =&gt; t.AddSource("Berth.*") ...)</c>,
    /// with the Prometheus scrape endpoint mapped beside the health endpoints. Left out for now: the SDK and its
    /// instrumentation cost resident memory the registry's and the agent's budgets do not have to spare unmeasured.
    /// </summary>
    private static TBuilder AddBerthTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder => builder;
}

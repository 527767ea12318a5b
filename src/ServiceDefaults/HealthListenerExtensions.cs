using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Berth.ServiceDefaults;

/// <summary>The <c>Health</c> section of a worker service (the agent): where, if anywhere, it serves its health endpoints.</summary>
public sealed class HealthListenerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Health";

    /// <summary>
    /// An <c>http://host:port/</c> prefix (<c>http://127.0.0.1:7081/</c>) to serve <c>/healthz</c> and <c>/readyz</c>
    /// on; null (the default) serves nothing and costs nothing.
    /// </summary>
    [Url]
    public string? Url { get; set; }
}

/// <summary>Health endpoints for a service that is not an ASP.NET Core application.</summary>
public static class HealthListenerExtensions
{
    /// <summary>
    /// Serves <c>/healthz</c> and <c>/readyz</c> on <see cref="HealthListenerOptions.Url"/> when it is configured,
    /// on a plain TCP listener (Microsoft.NETCore.App only), so that a worker needs neither
    /// ASP.NET Core nor Kestrel for two probes.
    /// </summary>
    public static TBuilder AddBerthHealthListener<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HealthListenerOptions>()
            .BindConfiguration(HealthListenerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (!string.IsNullOrEmpty(builder.Configuration[$"{HealthListenerOptions.Section}:{nameof(HealthListenerOptions.Url)}"]))
        {
            builder.Services.AddHostedService<HealthListener>();
        }

        return builder;
    }
}

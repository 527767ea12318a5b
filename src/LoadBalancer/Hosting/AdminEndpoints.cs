using System.Text.Json;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.Watch;

namespace Berth.LoadBalancer.Hosting;

/// <summary>The balancer's own endpoints, on the admin address only: liveness and what it serves.</summary>
/// <remarks>
/// Plain <see cref="RequestDelegate"/>s rather than minimal-API handlers with parameters: those are compiled from
/// expression trees at startup, which loads System.Linq.Expressions and a few MiB of generated code into a process
/// whose memory budget is 100 MiB (docs/benchmarks.md, "Load balancer, second round").
/// </remarks>
internal static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        // Ready once it has a configuration to serve (from the scheduler or the cache).
        app.MapGet("/healthz", WriteHealthAsync);
        app.MapGet("/status", WriteStatusAsync);
    }

    private static Task WriteHealthAsync(HttpContext context)
    {
        var ready = context.RequestServices.GetRequiredService<ConfigStore>().Current is not null;
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        if (!ready)
        {
            return Task.CompletedTask;
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("ok\n");
    }

    private static async Task WriteStatusAsync(HttpContext context)
    {
        var store = context.RequestServices.GetRequiredService<ConfigStore>();
        var watch = context.RequestServices.GetRequiredService<WatchClient>();
        var health = context.RequestServices.GetRequiredService<TargetHealthTable>();
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        var model = store.Current;
        json.WriteStartObject();
        json.WriteBoolean("connected", watch.Connected);
        json.WriteString("loadBalancerArn", model?.LoadBalancerArn);
        json.WriteString("epoch", model?.Epoch);
        json.WriteNumber("version", model?.Version ?? 0);
        json.WriteStartArray("listeners");
        foreach (var listener in model?.Listeners ?? [])
        {
            json.WriteStartObject();
            json.WriteNumber("port", listener.Port);
            json.WriteString("protocol", listener.Protocol.ToString().ToUpperInvariant());
            json.WriteNumber("rules", listener.Rules.Length);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("targets");
        foreach (var entry in health.Entries.OrderBy(e => e.TargetGroupArn, StringComparer.Ordinal).ThenBy(e => e.Target.Key, StringComparer.Ordinal))
        {
            var current = entry.Current;
            json.WriteStartObject();
            json.WriteString("targetGroupArn", entry.TargetGroupArn);
            json.WriteString("target", entry.Target.Key);
            json.WriteString("state", current.State.ToString().ToLowerInvariant());
            json.WriteString("reason", current.Reason);
            json.WriteString("description", current.Description);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}

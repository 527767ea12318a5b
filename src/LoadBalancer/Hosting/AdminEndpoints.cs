using System.Text.Json;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.State;
using Berth.LoadBalancer.Watch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.LoadBalancer.Hosting;

/// <summary>The balancer's own endpoints, on the admin address only: liveness and what it serves.</summary>
internal static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        // Ready once it has a configuration to serve (from the scheduler or the cache).
        app.MapGet("/healthz", (ConfigStore store) => store.Current is null ? Results.StatusCode(503) : Results.Text("ok\n"));
        app.MapGet("/status", WriteStatusAsync);
    }

    private static async Task WriteStatusAsync(HttpContext context, ConfigStore store, WatchClient watch, TargetHealthTable health)
    {
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

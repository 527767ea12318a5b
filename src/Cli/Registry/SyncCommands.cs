using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Berth.Cli.Common;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary><c>berth registry notifications ...</c>: the registry's outbound features (admin API, admins only).</summary>
internal static class SyncCommands
{
    public static Command Notifications(CommandActions actions)
    {
        var command = new Command("notifications", "Webhook endpoints that receive push/delete events (configured in Registry:Notifications)");
        var status = new Command("status", "Each endpoint with its queue and delivery status");
        actions.Set(status, async (_, context, ct) =>
        {
            var endpoints = await context.Registry.Admin.ListNotificationEndpointsAsync(ct);
            if (context.Output.IsJson)
            {
                context.Output.Json(JsonSerializer.SerializeToNode(endpoints, RegistryAdminJsonContext.Default.ListNotificationEndpointStatus));
            }
            else
            {
                context.Output.Table(["ENDPOINT", "URL", "ACTIONS", "PENDING", "DELIVERED", "FAILING", "LAST ERROR"], endpoints.Select(e => (IReadOnlyList<string>)
                [
                    e.Name,
                    e.Url,
                    string.Join(',', e.Actions),
                    e.Pending.ToString(CultureInfo.InvariantCulture),
                    e.Delivered.ToString(CultureInfo.InvariantCulture),
                    e.ConsecutiveFailures == 0 ? "no" : $"{e.ConsecutiveFailures}x, next {Time(e.NextAttemptAt)}",
                    e.LastError is { } error ? $"{error} ({Time(e.LastErrorAt)})" : "-",
                ]));
            }

            return ExitCodes.Success;
        });
        command.Add(status);
        return command;
    }

    private static string Time(DateTimeOffset? time) => time?.ToString("O", CultureInfo.InvariantCulture) ?? "-";
}

using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Cli.Up;

/// <summary><c>berth status</c>: the platform of a data directory, each part's PID, and whether it answers.</summary>
internal static class PlatformStatus
{
    private static readonly string[] s_parts = ["registry", "scheduler", "agent", "balancer"];

    public static async Task<int> PrintAsync(CliContext context, RunFiles run, string shownDataDirectory, CancellationToken ct)
    {
        var upPid = run.LivePid("up");
        var platform = run.Platform();
        var parts = s_parts.Select(name => (Name: name, Pid: run.LivePid(name))).ToList();
        if (upPid is null)
        {
            if (context.Output.IsJson)
            {
                context.Output.Json(new JsonObject { ["running"] = false, ["dataDirectory"] = shownDataDirectory });
            }
            else
            {
                context.Output.Say($"Berth is not running from {shownDataDirectory}. Start it with `berth up` (add --detach to run it in the background).");
            }

            return ExitCodes.Failure;
        }

        var registryAnswers = platform is not null && await RegistryAnswersAsync(new Uri(platform.Registry), ct);
        var (schedulerAnswers, agentConnected) = platform is null ? (false, (bool?)null) : await SchedulerStateAsync(context, platform, ct);
        var lab = platform is null ? null : FargateLab.Of(platform, Path.GetDirectoryName(run.Directory)!);
        var poolHosts = lab?.HostNames() ?? [];
        var healthy = platform is not null && registryAnswers && schedulerAnswers && (!platform.Agent || agentConnected == true);
        if (context.Output.IsJson)
        {
            context.Output.Json(new JsonObject
            {
                ["running"] = true,
                ["ready"] = platform is not null,
                ["healthy"] = healthy,
                ["dataDirectory"] = shownDataDirectory,
                ["pid"] = upPid,
                ["startedAt"] = platform?.StartedAt.ToString("O"),
                ["registry"] = new JsonObject { ["url"] = platform?.Registry, ["pid"] = parts[0].Pid, ["answering"] = registryAnswers },
                ["scheduler"] = new JsonObject { ["url"] = platform?.Scheduler, ["pid"] = parts[1].Pid, ["answering"] = schedulerAnswers },
                ["agent"] = new JsonObject { ["pid"] = parts[2].Pid, ["connected"] = agentConnected },
                ["balancer"] = new JsonObject { ["pid"] = parts[3].Pid },
                ["fargate"] = lab is null
                    ? new JsonObject { ["pool"] = false }
                    : new JsonObject { ["pool"] = true, ["lab"] = lab.Id, ["rootAddress"] = lab.RootAddress, ["hosts"] = new JsonArray([.. poolHosts.Select(h => (JsonNode)h)]) },
            });
            return healthy ? ExitCodes.Success : ExitCodes.Failure;
        }

        var say = context.Output.Out;
        say.WriteLine(platform is null
            ? $"Berth is starting from {shownDataDirectory} (berth up, pid {upPid})."
            : $"Berth is running from {shownDataDirectory} (berth up, pid {upPid}, up {Ages.Since(platform.StartedAt, DateTimeOffset.UtcNow)}).");
        context.Output.Table(["PART", "PID", "ADDRESS", "STATE"],
        [
            ["registry", Pid(parts[0].Pid), platform?.Registry ?? "-", registryAnswers ? "answering" : "not answering"],
            ["scheduler", Pid(parts[1].Pid), platform?.Scheduler ?? "-", schedulerAnswers ? "answering" : "not answering"],
            ["agent", Pid(parts[2].Pid), "-", platform is { Agent: false } ? "none (--no-agent)" : agentConnected == true ? "connected" : "not connected"],
            // The balancer answers on its own admin port; its process is what status can vouch for here.
            ["balancer", Pid(parts[3].Pid), "-", parts[3].Pid is null ? "none (--no-balancer)" : "running"],
            // The pool's hosts are the lab's namespaces, each with its own engine and agent (`berth instance list --include-fargate`).
            ["fargate", "-", lab?.RootAddress ?? "-", lab is null ? "no pool (not root, or --no-fargate)" : $"pool on lab '{lab.Id}': {poolHosts.Count} host(s)"],
        ]);
        say.WriteLine("`berth down` stops it.");
        return healthy ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static string Pid(int? pid) => pid is { } p ? Display.Num(p) : "-";

    private static async Task<bool> RegistryAnswersAsync(Uri registry, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            // Any HTTP answer (401 for a private registry) means it serves the v2 API.
            using var response = await http.GetAsync(new Uri(registry, "/v2/"), ct);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Whether the scheduler answers with the CLI's token, and whether any instance's agent is connected.</summary>
    private static async Task<(bool Answers, bool? AgentConnected)> SchedulerStateAsync(CliContext context, PlatformInfo platform, CancellationToken ct)
    {
        using var client = new SchedulerClient(new Uri(platform.Scheduler), context.Settings.Token);
        var deadline = DateTime.UtcNow.AddSeconds(3);
        try
        {
            var list = await client.Instances.ListContainerInstancesAsync(new ListContainerInstancesRequest { Cluster = platform.Cluster }, deadline: deadline, cancellationToken: ct);
            if (list.ContainerInstanceArns.Count == 0)
            {
                return (true, false);
            }

            var described = await client.Instances.DescribeContainerInstancesAsync(
                new DescribeContainerInstancesRequest { Cluster = platform.Cluster, ContainerInstances = { list.ContainerInstanceArns } }, deadline: deadline, cancellationToken: ct);
            return (true, described.ContainerInstances.Any(i => i.AgentConnected));
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            // It answers, but not to this CLI's token: the agent's state is not ours to see.
            return (true, null);
        }
        catch (RpcException)
        {
            return (false, null);
        }
    }
}

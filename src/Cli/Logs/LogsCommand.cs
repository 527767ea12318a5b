using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Cli.Logs;

/// <summary><c>berth logs TASK [--container NAME] [-f] [--tail N]</c>: a container's output, streamed from its host's agent.</summary>
internal static class LogsCommand
{
    public static Command Build(CommandActions actions)
    {
        var task = new Argument<string>("TASK") { Description = "The task id or ARN" };
        var container = new Option<string?>("--container") { Description = "The container name (needed when the task has several)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep streaming new output until Ctrl-C or the container stops" };
        var tail = new Option<int>("--tail") { Description = "Start with this many lines from the end (all when 0)" };
        var command = new Command("logs", "Print a task container's output (stdout and stderr)") { task, container, follow, tail };
        actions.Set(command, async (parse, context, ct) =>
        {
            using var call = context.Scheduler.Tasks.GetTaskLogs(new GetTaskLogsRequest
            {
                Cluster = context.Cluster,
                Task = parse.GetValue(task),
                Container = parse.GetValue(container) ?? string.Empty,
                Follow = parse.GetValue(follow),
                Tail = parse.GetValue(tail),
            }, cancellationToken: ct);
            try
            {
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(ct))
                {
                    Write(context.Output, chunk);
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                // Ctrl-C ends a follow: that is how it is meant to stop.
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Raw bytes to the matching stream; with --output json one object per chunk (JSON lines).</summary>
    private static void Write(CliOutput output, TaskLogChunk chunk)
    {
        var text = Encoding.UTF8.GetString(chunk.Data.Span);
        if (output.IsJson)
        {
            output.Out.WriteLine(new JsonObject { ["stream"] = chunk.Stream, ["data"] = text }.ToJsonString());
        }
        else
        {
            (chunk.Stream == "stderr" ? output.Error : output.Out).Write(text);
        }

        output.Out.Flush();
    }
}

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Berth.Cli.Logs;

/// <summary>
/// <c>berth logs TASK [--container NAME] [-f] [--tail N|all] [--since 10m|TIME] [-t]</c>: a container's output,
/// streamed from its host's agent, as <c>docker logs</c> prints it. A stopped task's output comes from its container
/// while the agent keeps it, then from the last lines the agent saved; when nothing is left it says so and exits 1.
/// </summary>
internal static class LogsCommand
{
    public static Command Build(CommandActions actions)
    {
        var task = new Argument<string>("TASK") { Description = "The task id or ARN" };
        var container = new Option<string?>("--container") { Description = "The container name (needed when the task has several)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep streaming new output until Ctrl-C or the container stops" };
        var tail = new Option<int?>("--tail", "-n")
        {
            Description = "Lines from the end to start with: a number (0: none, only new output with -f) or all [default: all]",
            HelpName = "N|all",
            CustomParser = ParseTail,
        };
        var since = new Option<string?>("--since")
        {
            Description = "Only output since a time: a duration back from now (90s, 10m, 2h) or a timestamp (2026-12-03T10:00:00Z)",
            HelpName = "10m|TIME",
            Validators = { result => ValidateSince(result) },
        };
        var timestamps = new Option<bool>("--timestamps", "-t") { Description = "Prefix every line with the time it was written (RFC 3339, nanoseconds)" };
        var command = new Command("logs", "Print a task container's output (stdout and stderr); a stopped task's too, while its host keeps it")
        {
            task, container, follow, tail, since, timestamps,
        };
        actions.Set(command, async (parse, context, ct) =>
        {
            var options = new LogReadOptions { Timestamps = parse.GetValue(timestamps) };
            if (parse.GetValue(tail) is { } lines)
            {
                options.Tail = lines;
            }

            if (parse.GetValue(since) is { } text)
            {
                options.Since = Timestamp.FromDateTimeOffset(ParseSince(text, DateTimeOffset.UtcNow)!.Value);
            }

            using var call = context.Scheduler.Tasks.GetTaskLogs(new GetTaskLogsRequest
            {
                Cluster = context.Cluster,
                Task = parse.GetValue(task),
                Container = parse.GetValue(container) ?? string.Empty,
                Follow = parse.GetValue(follow),
                // For a scheduler that predates `options` (it reads 0 as "all").
                Tail = options.HasTail ? options.Tail : 0,
                Options = options,
            }, cancellationToken: ct);
            var status = ExitCodes.Success;
            try
            {
                await foreach (var chunk in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (chunk.Notice is { } notice)
                    {
                        status = Say(context.Output, notice) ?? status;
                        continue;
                    }

                    Write(context.Output, chunk);
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                // Ctrl-C ends a follow: that is how it is meant to stop, and shells expect 130 for it.
                return ExitCodes.Interrupted;
            }

            return ct.IsCancellationRequested ? ExitCodes.Interrupted : status;
        });
        return command;
    }

    /// <summary><c>--since</c>: a duration back from <paramref name="now"/>, or an absolute time; null when neither.</summary>
    internal static DateTimeOffset? ParseSince(string text, DateTimeOffset now)
    {
        if (Durations.TryParse(text, out var back) && !text.Contains('-', StringComparison.Ordinal))
        {
            return now - back;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
    }

    private static void ValidateSince(OptionResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (ParseSince(text, DateTimeOffset.UtcNow) is null)
        {
            result.AddError($"--since '{text}' is neither a duration (90s, 10m, 2h) nor a time (2026-12-03T10:00:00Z).");
        }
    }

    private static int? ParseTail(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (text.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var lines))
        {
            return lines;
        }

        result.AddError($"--tail must be a number of lines (0 or more) or all, not '{text}'.");
        return null;
    }

    /// <summary>Notices go to stderr; "nothing left" makes the exit code 1.</summary>
    private static int? Say(CliOutput output, LogStreamNotice notice)
    {
        switch (notice.Source)
        {
            case LogStreamNotice.Types.Source.Saved:
                output.Error.WriteLine($"note: {notice.Message} (saved {Display.Time(notice.SavedAt)}).");
                return null;
            case LogStreamNotice.Types.Source.None:
                output.Error.WriteLine($"error: {notice.Message}.");
                return ExitCodes.Failure;
            default:
                return null;
        }
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

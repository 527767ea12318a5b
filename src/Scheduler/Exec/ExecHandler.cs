using System.Text;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Services;

namespace Berth.Scheduler.Exec;

/// <summary>
/// ECS ExecuteCommand's rules, kept apart from the relay that carries the bytes (Sessions/ExecRelay): which task and
/// container a request means, whether it may run (the task was launched with enableExecuteCommand and is running), and
/// the record of every session (a service event for a service's task, a log line always).
/// </summary>
internal sealed partial class ExecHandler(StateKernel kernel, ILogger<ExecHandler> logger)
{
    /// <summary>ECS's own words for a task launched without exec (its InvalidParameterException), with how to get it.</summary>
    public const string NotEnabledMessage =
        "The execute command failed because execute command was not enabled when the task was run. " +
        "Run a new task with execute command enabled (berth task run --enable-execute-command; for a service: " +
        "berth service update --enable-execute-command --force-new-deployment) and try again.";

    /// <summary>The argv of a command: at most this many arguments.</summary>
    public const int MaxArguments = 1024;

    /// <summary>The command, environment, user and directory together: at most this many characters (an ECS command is 4 KiB; argv allows more).</summary>
    public const int MaxRequestCharacters = 64 * 1024;

    /// <summary>A command as recorded in a service event: at most this many characters (events are short sentences).</summary>
    internal const int MaxRecordedCommand = 256;

    /// <summary>Checks a request and finds its task and container; refusals are <see cref="StateException"/>s naming the field or state.</summary>
    public ExecTarget Resolve(ExecRequest request)
    {
        if (string.IsNullOrEmpty(request.Task))
        {
            throw StateException.Invalid("start.task is required (a task id or ARN).");
        }

        if (request.Command.Count == 0 || string.IsNullOrEmpty(request.Command[0]))
        {
            throw StateException.Invalid("start.command is required: the program and its arguments (argv, e.g. [\"sh\", \"-c\", \"ls | wc -l\"]).");
        }

        if (request.Command.Count > MaxArguments)
        {
            throw StateException.Invalid($"start.command: at most {MaxArguments} arguments.");
        }

        var size = request.Command.Sum(a => a.Length) + request.Environment.Sum(e => e.Length) + request.User.Length + request.WorkingDirectory.Length;
        if (size > MaxRequestCharacters)
        {
            throw StateException.Invalid($"start: the command, env, user and working_directory are at most {MaxRequestCharacters} characters together.");
        }

        for (var i = 0; i < request.Environment.Count; i++)
        {
            var entry = request.Environment[i];
            if (entry.IndexOf('=', StringComparison.Ordinal) <= 0)
            {
                throw StateException.Invalid($"start.env[{i}]: must be NAME=value.");
            }
        }

        var cluster = Arns.ClusterName(request.Cluster);
        return kernel.ReadCluster(cluster, state =>
        {
            if (state?.IsActive != true)
            {
                throw StateException.NotFound($"Cluster '{cluster}' not found.");
            }

            if (!state.Tasks.TryGetValue(Arns.Id(request.Task), out var task))
            {
                throw StateException.NotFound($"Task '{request.Task}' not found in cluster '{cluster}'.");
            }

            if (!task.EnableExecuteCommand)
            {
                throw StateException.Precondition(NotEnabledMessage);
            }

            if (task.DesiredStatus != LifecycleStatus.Running || task.LastStatus != LifecycleStatus.Running)
            {
                throw StateException.Precondition(
                    $"The execute command failed because task '{task.Id}' is not running (last status {Name(task.LastStatus)}, desired {Name(task.DesiredStatus)}).");
            }

            var names = task.Containers.Select(c => c.Name).ToList();
            string container;
            if (string.IsNullOrEmpty(request.Container))
            {
                container = names.Count == 1
                    ? names[0]
                    : throw StateException.Invalid($"start.container is required: task '{task.Id}' has containers {string.Join(", ", names)}.");
            }
            else
            {
                container = names.Contains(request.Container, StringComparer.Ordinal)
                    ? request.Container
                    : throw StateException.NotFound($"Task '{task.Id}' has no container '{request.Container}' (it has {string.Join(", ", names)}).");
            }

            var service = task.Group.StartsWith("service:", StringComparison.Ordinal) ? task.Group["service:".Length..] : null;
            return new ExecTarget(cluster, task.Id, task.InstanceId, container, service);
        });
    }

    /// <summary>A session began: a log line (the service event, with the exit code, comes when it ends).</summary>
    public void Started(ExecTarget target, ExecRequest request, string caller, string sessionId)
    {
        var command = Quote(request.Command, int.MaxValue);
        Log.SessionStarted(logger, sessionId, caller, target.Cluster, target.TaskId, target.Container, command, request.Tty, target.InstanceId);
    }

    /// <summary>
    /// A session ended: a log line, and for a service's task an event on the service (ECS records ExecuteCommand in
    /// CloudTrail; a Berth operator reads service events). <paramref name="exitCode"/> is null when the command did not
    /// exit (it could not start, the caller went away, the agent disconnected): <paramref name="outcome"/> says which.
    /// </summary>
    public async Task EndedAsync(ExecTarget target, ExecRequest request, string caller, string sessionId, int? exitCode, string outcome)
    {
        var command = Quote(request.Command, MaxRecordedCommand);
        var fullCommand = Quote(request.Command, int.MaxValue);
        var result = exitCode is { } code ? $"exit code {code}" : outcome;
        Log.SessionEnded(logger, sessionId, caller, target.Cluster, target.TaskId, target.Container, fullCommand, result);
        if (target.Service is not { } name)
        {
            return;
        }

        var message = $"(service {name}) (task {target.TaskId}) exec by {caller} in container {target.Container}: {command} ended with {result}.";
        try
        {
            await kernel.CommitAsync(target.Cluster, tx =>
            {
                if (tx.Cluster.Services.TryGetValue(name, out var service) && ServiceRules.AddEvent(service, message, tx.Now, TimeSpan.Zero, logger))
                {
                    tx.Save(service);
                }

                return true;
            });
        }
        catch (StateException e)
        {
            // The service went away meanwhile (deleted and gone): the log line above is the record.
            Log.EventNotRecorded(logger, sessionId, name, e.Message);
        }
    }

    /// <summary>argv as a shell would read it back (arguments with spaces or quotes single-quoted), cut at <paramref name="max"/> characters.</summary>
    internal static string Quote(IReadOnlyList<string> argv, int max)
    {
        var text = new StringBuilder();
        foreach (var arg in argv)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            var plain = arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c, StringComparison.Ordinal));
            text.Append(plain ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'");
            if (text.Length > max)
            {
                break;
            }
        }

        return text.Length > max ? string.Concat(text.ToString(0, max - 3), "...") : text.ToString();
    }

    private static string Name(LifecycleStatus status) => status.ToString().ToUpperInvariant();
}

/// <summary>An exec request as the relay read it from its first frame.</summary>
internal sealed record ExecRequest
{
    public string Cluster { get; init; } = "";

    public string Task { get; init; } = "";

    public string Container { get; init; } = "";

    public IReadOnlyList<string> Command { get; init; } = [];

    public IReadOnlyList<string> Environment { get; init; } = [];

    public string User { get; init; } = "";

    public string WorkingDirectory { get; init; } = "";

    public bool Tty { get; init; }
}

/// <summary>What an exec runs in: the task, its instance (whose agent runs it), the container, and the task's service when it has one.</summary>
internal sealed record ExecTarget(string Cluster, string TaskId, string InstanceId, string Container, string? Service);

using System.Collections.Concurrent;
using System.Threading.Channels;
using Berth.Agent.Runtime;
using Berth.Agent.Tasks;
using Berth.Scheduler.V1;
using Google.Protobuf;

namespace Berth.Agent.Exec;

/// <summary>
/// The agent's side of exec (see <c>exec.proto</c>): each session the scheduler relays becomes one engine exec in a
/// running container of a task whose desired state allows it. Frames of a session are handled in order by one loop
/// (start, then stdin / close / resize), while a second pump sends the output back; the last frame is the exit code,
/// or an error that names what is wrong.
/// </summary>
internal sealed partial class ExecSessions(IContainerRuntime runtime, TaskEngine engine, ILogger<ExecSessions> logger)
{
    /// <summary>How long the exit code may lag behind the end of the output (the engine marks the exec done a moment later).</summary>
    private static readonly TimeSpan s_exitCodeWait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    /// <summary>Sessions open now (tests, diagnostics).</summary>
    public int Open => _sessions.Count;

    /// <summary>
    /// Takes one frame from the scheduler. Never blocks the session's read loop: frames queue per exec session.
    /// <paramref name="send"/> writes a frame back on the scheduler session; <paramref name="sessionToken"/> ends
    /// every exec when that session ends.
    /// </summary>
    public void Handle(ExecToAgent message, Func<ExecFromAgent, Task> send, CancellationToken sessionToken)
    {
        if (message.Cancel)
        {
#pragma warning disable CA2000 // cancelled only: RunAsync owns the session and disposes it in its finally.
            if (_sessions.TryRemove(message.SessionId, out var cancelled))
#pragma warning restore CA2000
            {
                cancelled.Cancel();
            }

            return;
        }

        if (message.Frame is null)
        {
            return;
        }

        if (message.Frame.BodyCase == ExecClientFrame.BodyOneofCase.Start)
        {
            var session = new Session(message.SessionId, sessionToken);
            if (!_sessions.TryAdd(message.SessionId, session))
            {
                session.Cancel();
                _ = SendQuietlyAsync(send, message.SessionId, Error(ExecError.Types.Code.InvalidArgument, $"exec session '{message.SessionId}' is already open"));
                return;
            }

            session.Frames.Writer.TryWrite(message.Frame);
            session.Run = Task.Run(() => RunAsync(session, send), CancellationToken.None);
            return;
        }

        // Input of a session that is gone (ended, or never started) is dropped: the caller gets the end it already has.
        if (_sessions.TryGetValue(message.SessionId, out var open))
        {
            open.Frames.Writer.TryWrite(message.Frame);
        }
    }

    /// <summary>Ends every open exec (the scheduler session ended).</summary>
    public void CancelAll()
    {
        foreach (var id in _sessions.Keys)
        {
#pragma warning disable CA2000 // cancelled only: RunAsync owns the session and disposes it in its finally.
            if (_sessions.TryRemove(id, out var session))
#pragma warning restore CA2000
            {
                session.Cancel();
            }
        }
    }

    private async Task RunAsync(Session session, Func<ExecFromAgent, Task> send)
    {
        var ct = session.Token;
        Task Send(ExecServerFrame frame) => send(new ExecFromAgent { SessionId = session.Id, Frame = frame });

        // The session is no longer open once its caller can learn that it ended: released before the last frame goes.
        Task End(ExecServerFrame frame)
        {
            Release(session);
            return Send(frame);
        }

        try
        {
            var start = (await session.Frames.Reader.ReadAsync(ct)).Start;
            var (target, problem) = Resolve(start);
            if (problem is not null)
            {
                LogRefused(logger, session.Id, start.Task, problem.Message);
                await End(new ExecServerFrame { Error = problem });
                return;
            }

            IExecSession exec;
            try
            {
                exec = await runtime.StartExecAsync(target!.Value.ContainerId, new ExecSpec
                {
                    Command = [.. start.Command],
                    Tty = start.Tty,
                    Stdin = start.Stdin,
                    Environment = [.. start.Env],
                    User = string.IsNullOrEmpty(start.User) ? null : start.User,
                    WorkingDirectory = string.IsNullOrEmpty(start.WorkingDirectory) ? null : start.WorkingDirectory,
                }, ct);
            }
            catch (Exception ex) when (ex is ContainerRuntimeException or EngineUnavailableException)
            {
                await End(new ExecServerFrame { Error = Error(ExecError.Types.Code.Unavailable, $"the container runtime could not start the command: {ex.Message}") });
                return;
            }

            await using (exec)
            {
                LogStarted(logger, session.Id, target.Value.TaskId, target.Value.Container, start.Command, start.Tty);
                await Send(new ExecServerFrame { Started = new ExecStarted { ExecId = exec.Id, TaskId = target.Value.TaskId, Container = target.Value.Container } });
                if (start.Tty && start.TerminalSize is { Rows: > 0, Columns: > 0 } size)
                {
                    await ResizeQuietlyAsync(exec, size, ct);
                }

                using var inputStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var input = Task.Run(() => PumpInputAsync(session, exec, inputStop.Token), CancellationToken.None);
                await foreach (var output in exec.ReadOutputAsync(ct))
                {
                    await Send(output.IsError
                        ? new ExecServerFrame { Stderr = ByteString.CopyFrom(output.Data.Span) }
                        : new ExecServerFrame { Stdout = ByteString.CopyFrom(output.Data.Span) });
                }

                await inputStop.CancelAsync();
                await input;
                ct.ThrowIfCancellationRequested();
                var exitCode = await WaitForExitCodeAsync(exec, ct);
                LogEnded(logger, session.Id, exitCode);
                await End(exitCode is { } code
                    ? new ExecServerFrame { Exited = new ExecExited { ExitCode = code } }
                    : new ExecServerFrame { Error = Error(ExecError.Types.Code.Unavailable, "the command's output ended but the runtime never reported its exit code") });
            }
        }
        catch (OperationCanceledException)
        {
            LogCancelled(logger, session.Id);
        }
        catch (Exception ex) when (ex is ContainerRuntimeException or EngineUnavailableException or IOException or Grpc.Core.RpcException)
        {
            LogFailed(logger, session.Id, ex.Message);
            Release(session);
            await SendQuietlyAsync(send, session.Id, Error(ExecError.Types.Code.Unavailable, $"the exec broke: {ex.Message}"));
        }
        finally
        {
            Release(session);
            session.Dispose();
        }
    }

    // Only this session's entry: a new session may already use the id's slot after a cancel removed this one.
    private void Release(Session session) => _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));

    /// <summary>The task (id or ARN), its container (the only one when unnamed), running, with exec allowed.</summary>
    private ((string TaskId, string Container, string ContainerId)? Target, ExecError? Problem) Resolve(ExecStart start)
    {
        if (start.Command.Count == 0)
        {
            return (null, Error(ExecError.Types.Code.InvalidArgument, "command is required"));
        }

        var taskId = start.Task[(start.Task.LastIndexOf('/') + 1)..];
        var report = engine.Snapshot().FirstOrDefault(r => r.TaskId == taskId);
        var spec = engine.SpecOf(taskId);
        if (report is null || spec is null)
        {
            return (null, Error(ExecError.Types.Code.NotFound, $"task '{start.Task}' is not running on this host"));
        }

        if (!spec.EnableExecuteCommand)
        {
            return (null, Error(ExecError.Types.Code.FailedPrecondition,
                $"exec is not enabled for task {taskId}: start it with enableExecuteCommand (berth task run --enable-execute-command, or the service's --enable-execute-command)"));
        }

        var names = string.Join(", ", report.Containers.Select(c => c.Name));
        var name = start.Container;
        if (string.IsNullOrEmpty(name))
        {
            if (report.Containers.Count != 1)
            {
                return (null, Error(ExecError.Types.Code.InvalidArgument, $"container is required: task {taskId} has containers {names}"));
            }

            name = report.Containers[0].Name;
        }

        var container = report.Containers.FirstOrDefault(c => c.Name == name);
        if (container is null)
        {
            return (null, Error(ExecError.Types.Code.NotFound, $"task {taskId} has no container '{name}' (it has {names})"));
        }

        if (container.Status != LocalStatus.Running || container.RuntimeId is null)
        {
            return (null, Error(ExecError.Types.Code.FailedPrecondition, $"container '{name}' of task {taskId} is not running (it is {container.Status.ToString().ToUpperInvariant()})"));
        }

        return ((taskId, name, container.RuntimeId), null);
    }

    private static async Task PumpInputAsync(Session session, IExecSession exec, CancellationToken ct)
    {
        try
        {
            await foreach (var frame in session.Frames.Reader.ReadAllAsync(ct))
            {
                switch (frame.BodyCase)
                {
                    case ExecClientFrame.BodyOneofCase.Stdin:
                        await exec.WriteInputAsync(frame.Stdin.Memory, ct);
                        break;
                    case ExecClientFrame.BodyOneofCase.StdinClosed when frame.StdinClosed:
                        await exec.CloseInputAsync(ct);
                        break;
                    case ExecClientFrame.BodyOneofCase.Resize:
                        await ResizeQuietlyAsync(exec, frame.Resize, ct);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The command ended (its output closed) or the session was cancelled: input has nowhere to go.
        }
    }

    private static async Task ResizeQuietlyAsync(IExecSession exec, TerminalSize size, CancellationToken ct)
    {
        try
        {
            await exec.ResizeAsync((int)size.Rows, (int)size.Columns, ct);
        }
        catch (Exception ex) when (ex is ContainerRuntimeException or EngineUnavailableException)
        {
            // A resize racing the command's end (or without a TTY) is refused by the engine; the output is unaffected.
        }
    }

    private static async Task<int?> WaitForExitCodeAsync(IExecSession exec, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + s_exitCodeWait;
        while (true)
        {
            if (await exec.GetExitCodeAsync(ct) is { } code)
            {
                return code;
            }

            if (DateTime.UtcNow > deadline)
            {
                return null;
            }

            await Task.Delay(50, ct);
        }
    }

    private static ExecError Error(ExecError.Types.Code code, string message) => new() { Code = code, Message = message };

    private static async Task SendQuietlyAsync(Func<ExecFromAgent, Task> send, string sessionId, ExecError error)
    {
        try
        {
            await send(new ExecFromAgent { SessionId = sessionId, Frame = new ExecServerFrame { Error = error } });
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Grpc.Core.RpcException or InvalidOperationException)
        {
            // The scheduler session is gone too; it ends the caller's call itself.
        }
    }

    private sealed class Session(string id, CancellationToken sessionToken) : IDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);

        public string Id { get; } = id;

        public CancellationToken Token => _cts.Token;

        /// <summary>Frames in arrival order; unbounded because the scheduler's read loop must never wait on one exec.</summary>
        public Channel<ExecClientFrame> Frames { get; } = Channel.CreateUnbounded<ExecClientFrame>(new UnboundedChannelOptions { SingleReader = true });

        public Task? Run { get; set; }

        public void Cancel()
        {
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Ended by itself meanwhile.
            }
        }

        public void Dispose() => _cts.Dispose();
    }
}

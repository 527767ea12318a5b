using System.Collections.Concurrent;
using System.Threading.Channels;
using Berth.Scheduler.Exec;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// <c>Tasks.ExecuteCommand</c> (see protos/berth/scheduler/v1/exec.proto): checks the caller's first frame with
/// <see cref="ExecHandler"/>, then relays the caller's frames to the agent of the task's instance inside
/// <see cref="ExecToAgent"/> (on its Session stream) and the agent's <see cref="ExecFromAgent"/> frames back, unchanged,
/// until the command exits or fails. When the caller goes away the agent is told to end the session (<c>cancel</c>);
/// when the agent's session ends first, the caller gets UNAVAILABLE. Every session is recorded by the handler.
/// </summary>
internal sealed partial class ExecRelay(ExecHandler exec, SessionHub hub, IHostApplicationLifetime lifetime, ILogger<ExecRelay> logger)
{
    /// <summary>Frames from the agent buffered per session for a slow caller; beyond that the call ends with RESOURCE_EXHAUSTED.</summary>
    internal const int BufferedFrames = 4096;

    private readonly ConcurrentDictionary<string, ExecStream> _streams = new(StringComparer.Ordinal);

    /// <summary>Sessions open now (for tests and diagnostics).</summary>
    public int OpenSessions => _streams.Count;

    public async Task RunAsync(IAsyncStreamReader<ExecClientFrame> requests, IServerStreamWriter<ExecServerFrame> responses, string caller, CancellationToken callToken)
    {
        using var call = CancellationTokenSource.CreateLinkedTokenSource(callToken, lifetime.ApplicationStopping);
        if (!await requests.MoveNext(call.Token) || requests.Current.BodyCase != ExecClientFrame.BodyOneofCase.Start)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "start: the first frame of an exec stream must be start."));
        }

        var first = requests.Current;
        var request = FromWire(first.Start);
        var target = exec.Resolve(request);
        if (hub.Find(target.InstanceId) is not { } session)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The agent of container instance '{target.InstanceId}' (task '{target.TaskId}') is not connected."));
        }

        var stream = new ExecStream(Guid.NewGuid().ToString("N"), session);
        _streams[stream.Id] = stream;
        exec.Started(target, request, caller, stream.Id);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(call.Token, session.Closed);
        using var stopPump = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
        int? exitCode = null;
        var outcome = "no exit code";
        var ended = false;
        Task pump = Task.CompletedTask;
        try
        {
            session.Send(new SchedulerMessage { Exec = new ExecToAgent { SessionId = stream.Id, Frame = first } });
            pump = PumpCallerAsync(requests, session, stream.Id, first.Start.Stdin, stopPump.Token);
            await foreach (var frame in stream.Frames.Reader.ReadAllAsync(linked.Token))
            {
                await responses.WriteAsync(frame, linked.Token);
                if (frame.BodyCase == ExecServerFrame.BodyOneofCase.Exited)
                {
                    exitCode = frame.Exited.ExitCode;
                    ended = true;
                    break;
                }

                if (frame.BodyCase == ExecServerFrame.BodyOneofCase.Error)
                {
                    outcome = $"an error ({frame.Error.Code}): {frame.Error.Message}";
                    ended = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (session.Closed.IsCancellationRequested && !call.IsCancellationRequested)
        {
            outcome = "no exit code: the agent disconnected";
            throw new RpcException(new Status(StatusCode.Unavailable, $"The agent of container instance '{target.InstanceId}' disconnected during the exec session."));
        }
        catch (OperationCanceledException) when (call.IsCancellationRequested)
        {
            outcome = lifetime.ApplicationStopping.IsCancellationRequested ? "no exit code: the scheduler stopped" : "no exit code: the caller went away";
            throw;
        }
        catch (RpcException e)
        {
            outcome = $"no exit code: {e.Status.Detail}";
            throw;
        }
        finally
        {
            _streams.TryRemove(stream.Id, out _);
            if (!ended && !session.Closed.IsCancellationRequested)
            {
                // The caller left (or was too slow): the agent closes the exec's streams.
                session.Send(new SchedulerMessage { Exec = new ExecToAgent { SessionId = stream.Id, Cancel = true } });
            }

            // A handler must not read its request stream after it returns: the pump ends first.
            await stopPump.CancelAsync();
            try
            {
                await pump;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException or IOException or InvalidOperationException)
            {
                // The caller's stream ended with the call.
            }

            await exec.EndedAsync(target, request, caller, stream.Id, exitCode, outcome);
        }
    }

    /// <summary>A frame from an agent's session. Frames for a session that is gone, or that another agent sends, are dropped.</summary>
    public void Deliver(AgentSession from, ExecFromAgent message)
    {
        if (message.Frame is null || !_streams.TryGetValue(message.SessionId, out var stream) || !ReferenceEquals(stream.Session, from))
        {
            return;
        }

        // Never block the session's read loop (reports and heartbeats share it): a caller that cannot keep up loses the session.
        if (!stream.Frames.Writer.TryWrite(message.Frame))
        {
            Log.CallerTooSlow(logger, stream.Id, BufferedFrames);
            stream.Frames.Writer.TryComplete(new RpcException(new Status(StatusCode.ResourceExhausted, $"The exec session ended: more than {BufferedFrames} frames were waiting for the client.")));
        }
    }

    /// <summary>The caller's frames after the first, to the agent in order; stdin waits until written (the caller's pace is the agent stream's).</summary>
    private static async Task PumpCallerAsync(IAsyncStreamReader<ExecClientFrame> requests, AgentSession session, string id, bool stdin, CancellationToken token)
    {
        var stdinClosed = false;
        while (await requests.MoveNext(token))
        {
            var frame = requests.Current;
            if (frame.BodyCase is ExecClientFrame.BodyOneofCase.None or ExecClientFrame.BodyOneofCase.Start)
            {
                // One start per session; an empty frame says nothing.
                continue;
            }

            stdinClosed |= frame.BodyCase == ExecClientFrame.BodyOneofCase.StdinClosed;
            await session.SendWrittenAsync(new SchedulerMessage { Exec = new ExecToAgent { SessionId = id, Frame = frame } }, token);
        }

        if (stdin && !stdinClosed)
        {
            // The caller half-closed without saying its input ended: that is the end of its input (a command reading
            // stdin would otherwise wait for bytes that can no longer come).
            await session.SendWrittenAsync(new SchedulerMessage { Exec = new ExecToAgent { SessionId = id, Frame = new ExecClientFrame { StdinClosed = true } } }, token);
        }
    }

    private static ExecRequest FromWire(ExecStart start) => new()
    {
        Cluster = start.Cluster,
        Task = start.Task,
        Container = start.Container,
        Command = [.. start.Command],
        Environment = [.. start.Env],
        User = start.User,
        WorkingDirectory = start.WorkingDirectory,
        Tty = start.Tty,
    };

    private sealed class ExecStream(string id, AgentSession session)
    {
        public string Id { get; } = id;

        public AgentSession Session { get; } = session;

        public Channel<ExecServerFrame> Frames { get; } = Channel.CreateBounded<ExecServerFrame>(new BoundedChannelOptions(BufferedFrames) { SingleReader = true, SingleWriter = true });
    }
}

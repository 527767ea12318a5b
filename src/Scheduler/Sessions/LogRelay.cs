using System.Collections.Concurrent;
using System.Threading.Channels;
using Berth.Scheduler.Tasks;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// <c>Tasks.GetTaskLogs</c>: asks the agent of the task's instance (and only that one) for a container's logs with a
/// <see cref="LogStreamRequest"/> on its session, and relays the <see cref="LogChunk"/>s it sends back to the caller.
/// When the caller goes away first, the agent is told to stop (<c>cancel</c>); when the agent's session ends first,
/// the caller gets UNAVAILABLE.
/// </summary>
internal sealed partial class LogRelay(TaskHandler tasks, SessionHub hub, IHostApplicationLifetime lifetime, ILogger<LogRelay> logger)
{
    /// <summary>Chunks buffered per stream for a slow caller; beyond that the stream ends with RESOURCE_EXHAUSTED.</summary>
    internal const int BufferedChunks = 4096;

    private readonly ConcurrentDictionary<string, LogStream> _streams = new(StringComparer.Ordinal);

    /// <summary>Streams open now (for tests and diagnostics).</summary>
    public int OpenStreams => _streams.Count;

    public async Task StreamAsync(GetTaskLogsRequest request, IServerStreamWriter<TaskLogChunk> writer, CancellationToken callToken)
    {
        var (task, container) = Resolve(request);
        if (string.IsNullOrEmpty(task.InstanceId) || hub.Find(task.InstanceId) is not { } session)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The agent of container instance '{task.InstanceId}' (task '{task.TaskId}') is not connected."));
        }

        var stream = new LogStream(Guid.NewGuid().ToString("N"), session);
        _streams[stream.Id] = stream;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, lifetime.ApplicationStopping, session.Closed);
        var ended = false;
        Log.Opened(logger, stream.Id, task.TaskId, container, task.InstanceId, request.Follow);
        try
        {
            session.Send(new SchedulerMessage
            {
                LogStreamRequest = new LogStreamRequest { StreamId = stream.Id, TaskId = task.TaskId, ContainerName = container, Follow = request.Follow, Tail = request.Tail, Options = request.Options },
            });
            await foreach (var chunk in stream.Chunks.Reader.ReadAllAsync(linked.Token))
            {
                if (chunk.End)
                {
                    ended = true;
                    break;
                }

                await writer.WriteAsync(new TaskLogChunk { Data = chunk.Data, Stream = chunk.Stream, Notice = chunk.Notice }, linked.Token);
            }
        }
        catch (OperationCanceledException) when (session.Closed.IsCancellationRequested && !callToken.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The agent of container instance '{task.InstanceId}' disconnected while streaming logs."));
        }
        finally
        {
            _streams.TryRemove(stream.Id, out _);
            if (!ended && !session.Closed.IsCancellationRequested)
            {
                // The caller left (or was too slow): the agent stops reading the container's output.
                session.Send(new SchedulerMessage { LogStreamRequest = new LogStreamRequest { StreamId = stream.Id, Cancel = true } });
            }

            Log.Closed(logger, stream.Id, ended ? "the agent ended it" : "cancelled");
        }
    }

    /// <summary>A chunk from an agent's session. Chunks for a stream that is gone, or that another session sends, are dropped.</summary>
    public void Deliver(AgentSession from, LogChunk chunk)
    {
        if (!_streams.TryGetValue(chunk.StreamId, out var stream) || !ReferenceEquals(stream.Session, from))
        {
            return;
        }

        // Never block the session's read loop (reports and heartbeats share it): a caller that cannot keep up loses the stream.
        if (!stream.Chunks.Writer.TryWrite(chunk))
        {
            stream.Chunks.Writer.TryComplete(new RpcException(new Status(StatusCode.ResourceExhausted, $"The log stream ended: more than {BufferedChunks} chunks were waiting for the client.")));
        }
    }

    private (TaskTarget Task, string Container) Resolve(GetTaskLogsRequest request)
    {
        if (string.IsNullOrEmpty(request.Task))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "task is required."));
        }

        if (request.Tail < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "tail must be 0 (all lines) or more."));
        }

        var (found, _) = tasks.Describe(request.Cluster, [request.Task], t => new TaskTarget(t.Id, t.InstanceId, [.. t.Containers.Select(c => c.Name)]));
        var task = found.FirstOrDefault() ?? throw new RpcException(new Status(StatusCode.NotFound, $"Task '{request.Task}' not found."));
        var names = string.Join(", ", task.Containers);
        if (string.IsNullOrEmpty(request.Container))
        {
            return task.Containers.Count == 1
                ? (task, task.Containers[0])
                : throw new RpcException(new Status(StatusCode.InvalidArgument, $"container is required: task '{task.TaskId}' has containers {names}."));
        }

        return task.Containers.Contains(request.Container)
            ? (task, request.Container)
            : throw new RpcException(new Status(StatusCode.NotFound, $"Task '{task.TaskId}' has no container '{request.Container}' (it has {names})."));
    }

    private sealed class LogStream(string id, AgentSession session)
    {
        public string Id { get; } = id;

        public AgentSession Session { get; } = session;

        public Channel<LogChunk> Chunks { get; } = Channel.CreateBounded<LogChunk>(new BoundedChannelOptions(BufferedChunks) { SingleReader = true, SingleWriter = true });
    }

    /// <summary>The task a log stream is about: its instance and its containers' names.</summary>
    private sealed record TaskTarget(string TaskId, string InstanceId, IReadOnlyList<string> Containers);
}

using System.Collections.Concurrent;
using Berth.Agent.Configuration;
using Berth.Agent.Exec;
using Berth.Agent.Logs;
using Berth.Agent.Runtime;
using Berth.Agent.Stats;
using Berth.Agent.Tasks;
using Berth.Core.Networking;
using Berth.Core.Resilience;
using Berth.Scheduler.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Sessions;

/// <summary>
/// The agent's side of the scheduler protocol: register once (join token -> instance id + credential in the
/// data dir), then keep one Session stream: Hello, a full snapshot, then desired states in and state reports
/// and heartbeats out. Any failure ends the stream; the agent reconnects with jittered exponential backoff and
/// starts over with Hello and a full snapshot. The tasks keep running meanwhile: only a newer desired state stops one.
/// </summary>
internal sealed partial class SessionClient(
    TaskEngine engine,
    HostFactsProvider facts,
    AgentDataDirectory data,
    TaskLogReader logs,
    ExecSessions execs,
    TaskStatsSampler stats,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<SessionClient> logger) : BackgroundService
{
    /// <summary>The longest wait between reconnects: a thousand agents that lost one scheduler come back spread over it.</summary>
    internal static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromMinutes(2);

    private volatile bool _connected;

    /// <summary>True while a session is accepted and alive.</summary>
    public bool Connected => _connected;

    /// <summary>The instance this agent speaks for, once registered.</summary>
    public InstanceIdentity? Identity { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var channel = GrpcChannel.ForAddress(options.Value.SchedulerUrl!, new GrpcChannelOptions
        {
            HttpHandler = ControlPlaneHttpHandler.Create(),
        });
        var client = new AgentService.AgentServiceClient(channel);
        var backoff = new ReconnectBackoff(Random.Shared, MaxReconnectDelay);
        var waiter = ReconnectWaiter.For(options.Value.SchedulerUrl!, time, Random.Shared);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Identity ??= await RegisterAsync(client, stoppingToken);
                await RunSessionAsync(client, Identity, backoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or EngineUnavailableException or SessionLostException or OperationCanceledException)
            {
                LogSessionEnded(logger, ex.Message);
            }
            finally
            {
                _connected = false;
            }

            var delay = backoff.Next();
            LogReconnecting(logger, delay.TotalMilliseconds);
            if (await waiter.WaitAsync(delay, stoppingToken))
            {
                // The scheduler is back (its port opened): start over from a short step, as after a good session.
                backoff.Reset();
                LogSchedulerPortOpened(logger);
            }
        }
    }

    private async Task<InstanceIdentity> RegisterAsync(AgentService.AgentServiceClient client, CancellationToken ct)
    {
        var o = options.Value;
        if (InstanceIdentity.Load(data) is { } known)
        {
            LogResuming(logger, known.ContainerInstanceId, known.Cluster);
            return known;
        }

        if (string.IsNullOrEmpty(o.JoinToken))
        {
            // Nothing to retry: without a token and without a saved identity this host can never join. Stop the host.
            throw new InvalidOperationException($"No instance identity in {data.Root} and no JoinToken configured: set JoinToken (BERTH_JOINTOKEN or --join-token) for the first start.");
        }

        var response = await client.RegisterAsync(
            new RegisterRequest { JoinToken = o.JoinToken, Cluster = o.Cluster, Facts = await facts.GetAsync(ct) },
            deadline: time.GetUtcNow().UtcDateTime.AddSeconds(30),
            cancellationToken: ct);
        var identity = new InstanceIdentity(response.ContainerInstanceId, response.ContainerInstanceArn, response.InstanceCredential, response.Cluster);
        identity.Save(data);
        LogRegistered(logger, identity.ContainerInstanceId, identity.Cluster);
        return identity;
    }

    private async Task RunSessionAsync(AgentService.AgentServiceClient client, InstanceIdentity identity, ReconnectBackoff backoff, CancellationToken stoppingToken)
    {
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var ct = sessionCts.Token;
        var headers = new Metadata { { "authorization", $"Bearer {identity.Credential}" } };
        using var call = client.Session(headers, cancellationToken: ct);
        using var writeLock = new SemaphoreSlim(1, 1);
        var logStreams = new ConcurrentDictionary<string, CancellationTokenSource>(StringComparer.Ordinal);

        async Task SendAsync(AgentMessage message)
        {
            await writeLock.WaitAsync(ct);
            try
            {
                await call.RequestStream.WriteAsync(message, ct);
            }
            finally
            {
                writeLock.Release();
            }
        }

        await SendAsync(new AgentMessage
        {
            Hello = new Hello { ContainerInstanceId = identity.ContainerInstanceId, Facts = await facts.GetAsync(ct), LastDesiredVersion = engine.DesiredVersion },
        });

        // Take the change signal before the snapshot, so a change in between is sent, not lost.
        var changed = engine.ReportsChanged;
        var sent = await SendReportsAsync(SendAsync, 0, fullSnapshot: true);
        var heartbeat = options.Value.HeartbeatInterval;
        var lastHeard = time.GetUtcNow();
        // Made before the reader starts: SessionAccepted sets the scheduler's interval on it at once. A scheduler with a
        // shorter interval than ours closes a session silent for three of its intervals, before our first heartbeat.
        using var timer = new PeriodicTimer(heartbeat, time);

        var reader = Task.Run(async () =>
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
            {
                lastHeard = time.GetUtcNow();
                switch (message.BodyCase)
                {
                    case SchedulerMessage.BodyOneofCase.SessionAccepted:
                        if (message.SessionAccepted.HeartbeatIntervalMs > 0)
                        {
                            heartbeat = TimeSpan.FromMilliseconds(message.SessionAccepted.HeartbeatIntervalMs);
                            timer.Period = heartbeat;
                        }

                        _connected = true;
                        backoff.Reset();
                        LogConnected(logger, identity.ContainerInstanceId, heartbeat.TotalMilliseconds);
                        break;
                    case SchedulerMessage.BodyOneofCase.DesiredState:
                        var desired = DesiredStateMapper.Map(message.DesiredState);
                        engine.ApplyDesired(desired);
                        await SendAsync(new AgentMessage { DesiredStateAck = new DesiredStateAck { Version = engine.DesiredVersion } });
                        break;
                    case SchedulerMessage.BodyOneofCase.ReportAck when message.ReportAck.UnknownTaskIds.Count > 0:
                        engine.ForgetUnknown(message.ReportAck.UnknownTaskIds);
                        break;
                    case SchedulerMessage.BodyOneofCase.LogStreamRequest:
                        HandleLogRequest(message.LogStreamRequest, logStreams, SendAsync, ct);
                        break;
                    case SchedulerMessage.BodyOneofCase.Exec:
                        execs.Handle(message.Exec, frame => SendAsync(new AgentMessage { Exec = frame }), ct);
                        break;
                }
            }

            throw new SessionLostException("The scheduler ended the session.");
        }, ct);

        var tick = timer.WaitForNextTickAsync(ct).AsTask();
        // Task stats ride the same stream, at their own pace; a stats interval of zero sends none.
        using var statsTimer = options.Value.StatsInterval > TimeSpan.Zero ? new PeriodicTimer(options.Value.StatsInterval, time) : null;
        var statsTick = statsTimer?.WaitForNextTickAsync(ct).AsTask() ?? new TaskCompletionSource<bool>().Task;
        try
        {
            while (true)
            {
                await Task.WhenAny(changed, tick, reader, statsTick);
                if (statsTick.IsCompleted)
                {
                    if (!await statsTick)
                    {
                        return;
                    }

                    var sample = await stats.SampleAsync(ct);
                    if (sample.Tasks.Count > 0)
                    {
                        await SendAsync(new AgentMessage { TaskStats = sample });
                    }

                    statsTick = statsTimer!.WaitForNextTickAsync(ct).AsTask();
                }

                if (reader.IsCompleted)
                {
                    await reader;
                }

                if (changed.IsCompleted)
                {
                    changed = engine.ReportsChanged;
                    sent = await SendReportsAsync(SendAsync, sent, fullSnapshot: false);
                }

                if (tick.IsCompleted)
                {
                    if (!await tick)
                    {
                        return;
                    }

                    if (time.GetUtcNow() - lastHeard > heartbeat * 3)
                    {
                        throw new SessionLostException($"Nothing heard from the scheduler for {(time.GetUtcNow() - lastHeard).TotalSeconds:0} s.");
                    }

                    await SendAsync(new AgentMessage { Heartbeat = new Heartbeat { SentAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()), DesiredVersion = engine.DesiredVersion } });
                    tick = timer.WaitForNextTickAsync(ct).AsTask();
                }
            }
        }
        finally
        {
            foreach (var stream in logStreams.Values)
            {
                await stream.CancelAsync();
            }

            execs.CancelAll();

            await sessionCts.CancelAsync();
            try
            {
                await reader;
            }
            catch (Exception ex) when (ex is OperationCanceledException or RpcException or SessionLostException or IOException)
            {
                // The session is over either way; the outer loop reconnects.
            }
        }
    }

    private async Task<ulong> SendReportsAsync(Func<AgentMessage, Task> send, ulong sentUpTo, bool fullSnapshot)
    {
        var reports = engine.Snapshot();
        var fresh = fullSnapshot ? reports : reports.Where(r => r.Sequence > sentUpTo).ToList();
        if (fresh.Count == 0 && !fullSnapshot)
        {
            return sentUpTo;
        }

        var message = new StateReport { FullSnapshot = fullSnapshot };
        message.Tasks.AddRange(fresh.Select(ReportMapper.Map));
        await send(new AgentMessage { StateReport = message });
        return fresh.Count == 0 ? sentUpTo : Math.Max(sentUpTo, fresh.Max(r => r.Sequence));
    }

    private void HandleLogRequest(LogStreamRequest request, ConcurrentDictionary<string, CancellationTokenSource> streams, Func<AgentMessage, Task> send, CancellationToken sessionToken)
    {
        if (request.Cancel)
        {
#pragma warning disable CA2000 // cancelled only: the stream's task owns the source and disposes it when it ends.
            if (streams.TryRemove(request.StreamId, out var running))
#pragma warning restore CA2000
            {
                try
                {
                    running.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // It ended by itself in the meantime.
                }
            }

            return;
        }

        var query = LogQueryOf(request);
        var timestamps = request.Options?.Timestamps == true;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);
        streams[request.StreamId] = cts;
        LogLogStreamStarted(logger, request.StreamId, request.TaskId, request.ContainerName, request.Follow);
        _ = Task.Run(async () =>
        {
            var ended = "end of output";
            try
            {
                await foreach (var item in logs.ReadAsync(query, cts.Token))
                {
                    if (item.Notice is { } notice)
                    {
                        ended = notice.Message;
                        await send(new AgentMessage { LogChunk = new LogChunk { StreamId = request.StreamId, Notice = ToNotice(notice) } });
                        continue;
                    }

                    var line = item.Line!;
                    var text = timestamps ? $"{line.Timestamp ?? LogTimestamps.Format(time.GetUtcNow())} {line.Text}\n" : line.Text + "\n";
                    await send(new AgentMessage
                    {
                        LogChunk = new LogChunk { StreamId = request.StreamId, Data = ByteString.CopyFromUtf8(text), Stream = line.IsError ? "stderr" : "stdout" },
                    });
                }

                // The runtime ends a cancelled read quietly: a cancelled stream gets no end marker (nobody waits for it).
                cts.Token.ThrowIfCancellationRequested();
                await send(new AgentMessage { LogChunk = new LogChunk { StreamId = request.StreamId, End = true } });
                LogLogStreamEnded(logger, request.StreamId, ended);
            }
            catch (OperationCanceledException)
            {
                LogLogStreamEnded(logger, request.StreamId, "cancelled");
            }
            catch (Exception ex) when (ex is EngineUnavailableException or ContainerRuntimeException or IOException)
            {
                // The engine failed the read: end the stream so that the caller is not left waiting.
                LogLogStreamEnded(logger, request.StreamId, ex.Message);
                await SendEndQuietlyAsync(request.StreamId, send);
            }
            catch (RpcException ex)
            {
                LogLogStreamEnded(logger, request.StreamId, ex.Message);
            }
            finally
            {
                streams.TryRemove(request.StreamId, out _);
                cts.Dispose();
            }
        }, CancellationToken.None);
    }

    /// <summary>The request's options; without them (an older scheduler or CLI) `tail` 0 means every line, as it always did.</summary>
    internal static TaskLogQuery LogQueryOf(LogStreamRequest request) => request.Options is { } o
        ? new TaskLogQuery(request.TaskId, request.ContainerName)
        {
            Follow = request.Follow,
            Tail = o.HasTail ? o.Tail : null,
            Since = o.Since?.ToDateTimeOffset(),
        }
        : new TaskLogQuery(request.TaskId, request.ContainerName) { Follow = request.Follow, Tail = request.Tail > 0 ? request.Tail : null };

    private static LogStreamNotice ToNotice(LogNotice notice) => new()
    {
        Source = notice.Source switch
        {
            LogSource.Runtime => LogStreamNotice.Types.Source.Runtime,
            LogSource.Saved => LogStreamNotice.Types.Source.Saved,
            _ => LogStreamNotice.Types.Source.None,
        },
        Message = notice.Message,
        SavedAt = notice.SavedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
        Truncated = notice.Truncated,
    };

    private static async Task SendEndQuietlyAsync(string streamId, Func<AgentMessage, Task> send)
    {
        try
        {
            await send(new AgentMessage { LogChunk = new LogChunk { StreamId = streamId, End = true } });
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            // The session is gone too; the scheduler ends the caller's stream with UNAVAILABLE.
        }
    }

    private sealed class SessionLostException(string message) : Exception(message);
}

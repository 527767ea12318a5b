using System.Collections.Concurrent;
using System.Threading.Channels;
using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.V1;
using Grpc.Core;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// The scheduler's side of one agent's Session stream. All writes go through one loop, because a gRPC stream writer
/// takes one write at a time. Desired-state changes only set a flag: however many changes happen while a write is in
/// flight, the loop sends one DesiredState with the newest version afterwards (level-triggered, so nothing is lost).
/// </summary>
internal sealed partial class AgentSession(string instanceId, long generation, IServerStreamWriter<SchedulerMessage> writer, DesiredStates desiredStates, TaskRegistryCredentials credentials, TimeProvider time, CancellationToken streamToken, HttpResponse? response = null)
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentQueue<(SchedulerMessage Message, TaskCompletionSource? Written)> _outbox = new();
    private readonly CancellationTokenSource _closed = CancellationTokenSource.CreateLinkedTokenSource(streamToken);
    private int _desiredDirty;
    private long _sentVersion;
    private long _lastHeardTimestamp = time.GetTimestamp();

    public string InstanceId { get; } = instanceId;

    public long Generation { get; } = generation;

    /// <summary>Cancelled when the session should end (stream gone, replaced by a newer session, or silent too long).</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>The newest desired-state version written to the stream.</summary>
    public long SentVersion => Interlocked.Read(ref _sentVersion);

    public void MarkDesiredStateChanged()
    {
        Volatile.Write(ref _desiredDirty, 1);
        _wake.Writer.TryWrite(true);
    }

    public void Send(SchedulerMessage message)
    {
        _outbox.Enqueue((message, null));
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Queues a message and completes once the writer has written it: a relay of a caller's bytes (exec's stdin) waits
    /// on it, so a fast caller is held back to the agent stream's pace instead of filling the outbox. Cancelled with the
    /// session (or <paramref name="cancellationToken"/>).
    /// </summary>
    public Task SendWrittenAsync(SchedulerMessage message, CancellationToken cancellationToken)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _outbox.Enqueue((message, written));
        _wake.Writer.TryWrite(true);
        return written.Task.WaitAsync(cancellationToken);
    }

    public void Heard() => Interlocked.Exchange(ref _lastHeardTimestamp, time.GetTimestamp());

    public TimeSpan Silence => time.GetElapsedTime(Interlocked.Read(ref _lastHeardTimestamp));

    public void Close()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already ended.
        }
    }

    /// <summary>Writes queued messages and desired states until the session closes.</summary>
    public async Task RunWriterAsync()
    {
        var token = _closed.Token;
        while (await _wake.Reader.WaitToReadAsync(token))
        {
            _wake.Reader.TryRead(out _);
            while (_outbox.TryDequeue(out var queued))
            {
                await writer.WriteAsync(queued.Message, token);
                queued.Written?.TrySetResult();
            }

            if (Interlocked.Exchange(ref _desiredDirty, 0) == 1)
            {
                var desired = desiredStates.Build(InstanceId, SentVersion);
                if (desired is not null)
                {
                    await WriteDesiredAsync(desired, token);
                    Interlocked.Exchange(ref _sentVersion, desired.Version);
                    if (desired.Status == ContainerInstanceStatus.Inactive)
                    {
                        // Deregistered: the agent has its last word (stop everything); its credential no longer works.
                        Close();
                        return;
                    }
                }
            }
        }
    }
}

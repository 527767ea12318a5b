using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Berth.Bench.SchedulerLoad;

/// <summary>
/// A simulated agent's real Session stream: Hello and an empty full snapshot out, then every desired-state frame
/// handed to <see cref="OnMessageAsync"/>; writes are serialized because gRPC allows one writer at a time. The parts
/// differ only in what their agents do with a frame.
/// </summary>
internal abstract class SimulatedAgentSession(CallInvoker invoker, RegisterResponse registration, HostFacts facts) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private AsyncDuplexStreamingCall<AgentMessage, byte[]>? _call;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _call = invoker.AsyncDuplexStreamingCall(DesiredStateScanner.Session, null, new CallOptions(new Metadata { { "authorization", "Bearer " + registration.InstanceCredential } }, cancellationToken: cancellationToken));
        await _call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { ContainerInstanceId = registration.ContainerInstanceId, Facts = facts } }, cancellationToken);
        await _call.RequestStream.WriteAsync(new AgentMessage { StateReport = new StateReport { FullSnapshot = true } }, cancellationToken);
        _ = Task.Run(() => ReadAsync(cancellationToken), CancellationToken.None);
    }

    public Task HeartbeatAsync() => SendAsync(new AgentMessage { Heartbeat = new Heartbeat { SentAt = Timestamp.FromDateTime(DateTime.UtcNow) } });

    /// <summary>Handles one frame the scheduler sent (the raw bytes: the scanner reads only what the benchmark needs).</summary>
    protected abstract Task OnMessageAsync(byte[] message);

    protected async Task SendAsync(AgentMessage message)
    {
        await _write.WaitAsync();
        try
        {
            await _call!.RequestStream.WriteAsync(message);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The session ended; the reader reports it.
        }
        finally
        {
            _write.Release();
        }
    }

    public void Dispose()
    {
        _call?.Dispose();
        _write.Dispose();
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _call!.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await OnMessageAsync(message);
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Console.WriteLine($"agent {registration.ContainerInstanceId}: session ended: {e.Message}");
            }
        }
    }
}

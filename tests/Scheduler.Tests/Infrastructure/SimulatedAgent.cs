using System.Threading.Channels;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Berth.Scheduler.Tests.Infrastructure;

/// <summary>
/// A simulated agent: a client of the real scheduler over a real gRPC channel. It registers (or reuses a credential),
/// opens a Session, records every message the scheduler sends, and reports task states when told to.
/// </summary>
internal sealed class SimulatedAgent : IAsyncDisposable
{
    private readonly AgentService.AgentServiceClient _client;
    private readonly Channel<SchedulerMessage> _received = Channel.CreateUnbounded<SchedulerMessage>();
    private readonly CancellationTokenSource _stop = new();
    private AsyncDuplexStreamingCall<AgentMessage, SchedulerMessage>? _call;
    private Task? _reader;
    private ulong _sequence = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

    private SimulatedAgent(AgentService.AgentServiceClient client, RegisterResponse registration, HostFacts facts)
    {
        _client = client;
        Registration = registration;
        Facts = facts;
    }

    public RegisterResponse Registration { get; }

    public HostFacts Facts { get; }

    public string InstanceId => Registration.ContainerInstanceId;

    /// <summary>The newest desired state received.</summary>
    public DesiredState? Desired { get; private set; }

    public SessionAccepted? Accepted { get; private set; }

    /// <summary>Every desired state received, in order.</summary>
    public List<DesiredState> DesiredHistory { get; } = [];

    /// <summary>A copy of every desired state received so far (the reader adds to the list concurrently).</summary>
    public List<DesiredState> DesiredSnapshot()
    {
        lock (DesiredHistory)
        {
            return [.. DesiredHistory];
        }
    }

    /// <summary>A copy of every report ack received so far.</summary>
    public List<ReportAck> AcksSnapshot()
    {
        lock (DesiredHistory)
        {
            return [.. Acks];
        }
    }

    /// <summary>Every report ack received, in order.</summary>
    public List<ReportAck> Acks { get; } = [];

    /// <summary>Log stream requests (and cancels) received from the scheduler, in order.</summary>
    public Channel<LogStreamRequest> LogRequests { get; } = Channel.CreateUnbounded<LogStreamRequest>();

    /// <summary>Heartbeats received from the scheduler.</summary>
    public int HeartbeatsReceived { get; private set; }

    /// <summary>The status the session ended with, once it ended.</summary>
    public Status? EndStatus { get; private set; }

    public static HostFacts DefaultFacts(string zone = "zone-a", int cpu = 2048, int memory = 4096) => new()
    {
        Hostname = "sim-" + Guid.NewGuid().ToString("N")[..6],
        Cpu = cpu,
        Memory = memory,
        AgentVersion = "0.1.0",
        OsType = "linux",
        CpuArchitecture = "x86_64",
        Zone = zone,
        InstanceType = "sim.large",
        ReservedPorts = { 22 },
    };

    public static Task<SimulatedAgent> RegisterAsync(SchedulerHost host, string cluster = "default", HostFacts? facts = null, bool connect = true) =>
        RegisterAsync(host.Agents, host.JoinToken, cluster, facts, connect);

    public static async Task<SimulatedAgent> RegisterAsync(AgentService.AgentServiceClient client, string joinToken, string cluster = "default", HostFacts? facts = null, bool connect = true)
    {
        facts ??= DefaultFacts();
        var registration = await client.RegisterAsync(new RegisterRequest { JoinToken = joinToken, Cluster = cluster, Facts = facts }).ResponseAsync.WithTimeout();
        var agent = new SimulatedAgent(client, registration, facts);
        if (connect)
        {
            await agent.ConnectAsync();
        }

        return agent;
    }

    /// <summary>Reuses a registration with another (or a restarted) scheduler, as an agent does after a restart.</summary>
    public static async Task<SimulatedAgent> ResumeAsync(SchedulerHost host, RegisterResponse registration, HostFacts facts, IEnumerable<TaskReport>? snapshot = null)
    {
        var agent = new SimulatedAgent(host.Agents, registration, facts);
        await agent.ConnectAsync(snapshot);
        return agent;
    }

    /// <summary>
    /// Opens the session: Hello; once the scheduler accepted it, a full snapshot. Nothing is written after a refusal:
    /// a write racing the scheduler's refusal (it resets the request stream) could fail the call as CANCELLED on this
    /// side and hide the status the scheduler sent, which the reader records (EndStatus).
    /// </summary>
    public async Task ConnectAsync(IEnumerable<TaskReport>? snapshot = null, string? helloInstanceId = null)
    {
        _call = _client.Session(SchedulerHost.Bearer(Registration.InstanceCredential), cancellationToken: _stop.Token);
        _reader = Task.Run(ReadAsync);
        try
        {
            await SendAsync(new AgentMessage { Hello = new Hello { ContainerInstanceId = helloInstanceId ?? InstanceId, Facts = Facts } });
        }
        catch (RpcException)
        {
            // Refused on its headers (the reader records how).
        }

        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(Accepted is not null || EndStatus is not null), what: "SessionAccepted");
        if (Accepted is null)
        {
            return;
        }

        var report = new StateReport { FullSnapshot = true };
        report.Tasks.AddRange(snapshot ?? []);
        try
        {
            await SendAsync(new AgentMessage { StateReport = report });
        }
        catch (RpcException)
        {
            // The scheduler ended the session meanwhile (the reader records how).
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var message in _call!.ResponseStream.ReadAllAsync(_stop.Token))
            {
                lock (DesiredHistory)
                {
                    switch (message.BodyCase)
                    {
                        case SchedulerMessage.BodyOneofCase.SessionAccepted:
                            Accepted = message.SessionAccepted;
                            break;
                        case SchedulerMessage.BodyOneofCase.DesiredState:
                            Desired = message.DesiredState;
                            DesiredHistory.Add(message.DesiredState);
                            break;
                        case SchedulerMessage.BodyOneofCase.ReportAck:
                            Acks.Add(message.ReportAck);
                            break;
                        case SchedulerMessage.BodyOneofCase.Heartbeat:
                            HeartbeatsReceived++;
                            break;
                        case SchedulerMessage.BodyOneofCase.LogStreamRequest:
                            LogRequests.Writer.TryWrite(message.LogStreamRequest);
                            break;
                    }
                }

                _received.Writer.TryWrite(message);
            }

            EndStatus = Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            EndStatus = e.Status;
        }
        catch (OperationCanceledException)
        {
            EndStatus = new Status(StatusCode.Cancelled, "stopped");
        }
    }

    public Task SendAsync(AgentMessage message) => _call!.RequestStream.WriteAsync(message).WithTimeout();

    /// <summary>Reports one task; returns the sequence used.</summary>
    public async Task<ulong> ReportAsync(string taskId, LifecycleStatus status, Action<TaskReport>? configure = null, ulong? sequence = null)
    {
        var report = new TaskReport { TaskId = taskId, Sequence = sequence ?? ++_sequence, LastStatus = status };
        configure?.Invoke(report);
        var message = new StateReport();
        message.Tasks.Add(report);
        await SendAsync(new AgentMessage { StateReport = message });
        return report.Sequence;
    }

    /// <summary>Reports and waits until the scheduler acknowledges the report's sequence (it is then durable).</summary>
    public async Task<ReportAck> ReportAndWaitAsync(string taskId, LifecycleStatus status, Action<TaskReport>? configure = null, ulong? sequence = null)
    {
        var used = await ReportAsync(taskId, status, configure, sequence);
        ReportAck? ack = null;
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            lock (DesiredHistory)
            {
                ack = Acks.LastOrDefault(a => a.Sequence >= used);
            }

            return Task.FromResult(ack is not null);
        }, what: $"ack of report {used}");
        return ack!;
    }

    public Task HeartbeatAsync() => SendAsync(new AgentMessage { Heartbeat = new Heartbeat { SentAt = Timestamp.FromDateTime(DateTime.UtcNow), DesiredVersion = Desired?.Version ?? 0 } });

    /// <summary>Waits for a desired state that satisfies <paramref name="predicate"/>.</summary>
    public async Task<DesiredState> WaitForDesiredAsync(Func<DesiredState, bool> predicate, string? what = null)
    {
        DesiredState? found = null;
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            lock (DesiredHistory)
            {
                found = DesiredHistory.LastOrDefault(predicate);
            }

            return Task.FromResult(found is not null);
        }, TimeSpan.FromSeconds(20), what ?? "desired state");
        return found!;
    }

    /// <summary>Waits until the session ended and returns how.</summary>
    public async Task<Status> WaitForEndAsync()
    {
        await TaskTimeouts.WaitUntilAsync(() => Task.FromResult(EndStatus is not null), TimeSpan.FromSeconds(20), "session end");
        return EndStatus!.Value;
    }

    /// <summary>Closes the request side, as an agent shutting down cleanly does.</summary>
    public async Task DisconnectAsync()
    {
        if (_call is not null)
        {
            await _call.RequestStream.CompleteAsync();
            if (_reader is not null)
            {
                await _reader.WithTimeout();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_reader is not null)
        {
            await _reader.WithTimeout();
        }

        _call?.Dispose();
        _stop.Dispose();
    }
}

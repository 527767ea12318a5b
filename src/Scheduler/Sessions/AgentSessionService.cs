using System.Net;
using System.Net.Sockets;
using Berth.Core.Networking;
using Berth.Scheduler.ControlPlane;
using Berth.Scheduler.Hosting;
using Berth.Scheduler.Instances;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.Networking;
using Berth.Scheduler.RegistryAccess;
using Berth.Scheduler.Scaling;
using Berth.Scheduler.Security;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Sessions;

/// <summary>
/// The agent protocol's edge: Register and the Session stream (see protos/berth/scheduler/v1/agent.proto). Messages are
/// read and built here; the state changes they ask for go to <see cref="InstanceHandler"/> and <see cref="AgentHandler"/>.
/// </summary>
internal sealed partial class AgentSessionService(
    InstanceHandler instances,
    AgentHandler agents,
    DesiredStates desiredStates,
    SessionHub hub,
    TaskRegistryCredentials credentials,
    LogRelay logs,
    ExecRelay exec,
    HostNetworks networks,
    TaskStatsStore stats,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    IOptions<SchedulerOptions> options,
    ILogger<AgentSessionService> logger) : AgentService.AgentServiceBase
{
    public override async Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        if (request.Facts is null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "facts is required (facts.cpu and facts.memory must be positive)."));
        }

        var registration = await instances.RegisterAsync(Arns.ClusterName(request.Cluster), WireConvert.FromWire(request.Facts));
        return new RegisterResponse
        {
            ContainerInstanceId = registration.InstanceId,
            ContainerInstanceArn = registration.InstanceArn,
            InstanceCredential = registration.Credential,
            Cluster = registration.Cluster,
        };
    }

    public override async Task Session(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<SchedulerMessage> responseStream, ServerCallContext context)
    {
        var instanceId = AuthInterceptor.InstanceId(context);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);

        var hello = await ReadHelloAsync(requestStream, stream.Token);
        if (hello.ContainerInstanceId != instanceId)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"This credential speaks for container instance '{instanceId}', not '{hello.ContainerInstanceId}'."));
        }

        // The address the session came from is where load balancers reach the host's published ports (a host with a
        // better address for that says so in its facts: advertise_address), and the address its peers route awsvpc task traffic through.
        var remote = context.GetHttpContext().Connection.RemoteIpAddress;
        var peer = remote is null ? null : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
        // The host's task subnet (given once) and the address its peers route through — before the agent counts as
        // connected, so that no placement sees a connected host without the subnet awsvpc tasks require of it.
        await networks.ConnectHostAsync(instanceId, remote);
        var (generation, applied) = await agents.ConnectAsync(instanceId, hello.Facts is null ? null : WireConvert.FromWire(hello.Facts), peer);
        var session = new AgentSession(instanceId, generation, responseStream, desiredStates, credentials, time, stream.Token, context.GetHttpContext().Response);
        session.Send(new SchedulerMessage
        {
            SessionAccepted = new SessionAccepted
            {
                ContainerInstanceId = instanceId,
                HeartbeatIntervalMs = (int)options.Value.HeartbeatInterval.TotalMilliseconds,
                ServerTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
                AppliedSequence = applied,
            },
        });
        session.MarkDesiredStateChanged();
        hub.Attach(session);
        Log.SessionStarted(logger, instanceId, generation);
        var writer = session.RunWriterAsync();
        try
        {
            await ReadLoopAsync(requestStream, session, session.Closed);
        }
        catch (OperationCanceledException) when (session.Closed.IsCancellationRequested)
        {
            // Closed by the hub (replaced or silent), by the client, or by shutdown.
        }
        finally
        {
            session.Close();
            hub.Detach(session);
            await agents.DisconnectAsync(instanceId, generation);
            try
            {
                await writer;
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException)
            {
                // The stream is gone; nothing more can be written.
            }

            Log.SessionEnded(logger, instanceId, generation);
        }
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<AgentMessage> requestStream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.SessionTimeout);
        bool any;
        try
        {
            any = await requestStream.MoveNext(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "No Hello within the heartbeat timeout."));
        }

        if (!any || requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of a session must be Hello."));
        }

        return requestStream.Current.Hello;
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<AgentMessage> requestStream, AgentSession session, CancellationToken cancellationToken)
    {
        while (await requestStream.MoveNext(cancellationToken))
        {
            var message = requestStream.Current;
            session.Heard();
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.StateReport:
                    var (sequence, unknown) = await agents.ApplyReportAsync(session.InstanceId, FromWire(message.StateReport));
                    var ack = new ReportAck { Sequence = sequence };
                    ack.UnknownTaskIds.AddRange(unknown);
                    session.Send(new SchedulerMessage { ReportAck = ack });
                    break;
                case AgentMessage.BodyOneofCase.Heartbeat:
                    agents.Touch(session.InstanceId, message.Heartbeat.DesiredVersion);
                    break;
                case AgentMessage.BodyOneofCase.DesiredStateAck:
                    agents.Touch(session.InstanceId, message.DesiredStateAck.Version);
                    break;
                case AgentMessage.BodyOneofCase.LogChunk:
                    logs.Deliver(session, message.LogChunk);
                    break;
                case AgentMessage.BodyOneofCase.Exec:
                    exec.Deliver(session, message.Exec);
                    break;
                case AgentMessage.BodyOneofCase.TaskStats:
                    // At most one sample per task of the host: a report is bounded by what the host runs.
                    stats.Ingest(session.InstanceId, [.. message.TaskStats.Tasks.Take(StatsPerReport).Select(t => new TaskUsageSample(t.TaskId, t.CpuUnits, t.MemoryMib))]);
                    break;
                case AgentMessage.BodyOneofCase.Hello:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "Hello is only the first message of a session."));
                default:
                    // Future additions: accepted and ignored, so newer agents work with this scheduler.
                    break;
            }
        }
    }

    // A host runs at most a few hundred tasks; anything beyond this in one report is not a real host's.
    private const int StatsPerReport = 4096;

    private static AgentReport FromWire(StateReport report) => new(
        [.. report.Tasks.Select((t, i) => new TaskStatusReport
        {
            TaskId = t.TaskId,
            Sequence = t.Sequence,
            LastStatus = WireConvert.FromWire(t.LastStatus, $"state_report.tasks[{i}].last_status"),
            StopCode = WireConvert.FromWire(t.StopCode, $"state_report.tasks[{i}].stop_code"),
            StoppedReason = t.StoppedReason,
            HealthStatus = WireConvert.FromWire(t.HealthStatus, $"state_report.tasks[{i}].health_status"),
            StartedAt = WireConvert.FromWire(t.StartedAt),
            StoppedAt = WireConvert.FromWire(t.StoppedAt),
            Attachment = t.NetworkAttachment is { } a ? FromWire(a, $"state_report.tasks[{i}].network_attachment") : null,
            Containers = [.. t.Containers.Select((c, j) => new ContainerStatusReport
            {
                Name = c.Name,
                RuntimeId = c.RuntimeId,
                LastStatus = WireConvert.FromWire(c.LastStatus, $"state_report.tasks[{i}].containers[{j}].last_status"),
                ExitCode = c.HasExitCode ? c.ExitCode : null,
                Reason = c.Reason,
                NetworkBindings = [.. c.NetworkBindings.Select(WireConvert.FromWire)],
                HealthStatus = WireConvert.FromWire(c.HealthStatus, $"state_report.tasks[{i}].containers[{j}].health_status"),
                ImageDigest = c.ImageDigest,
            })],
        })],
        report.FullSnapshot);

    /// <summary>An awsvpc task's interface as its agent reports it: addresses are checked (operators' terminals print them).</summary>
    private static TaskAttachment FromWire(TaskNetworkAttachment a, string field)
    {
        if (!IPAddress.TryParse(a.Ipv4Address, out var address) || address.AddressFamily != AddressFamily.InterNetwork || a.Ipv4Address.Count(c => c == '.') != 3)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}.ipv4_address: must be an IPv4 address."));
        }

        if (a.Subnet.Length > 0 && !Ipv4Cidr.TryParse(a.Subnet, out _))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}.subnet: must be an IPv4 CIDR."));
        }

        if (a.Gateway.Length > 0 && (!IPAddress.TryParse(a.Gateway, out var gateway) || gateway.AddressFamily != AddressFamily.InterNetwork))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}.gateway: must be an IPv4 address."));
        }

        if (a.MacAddress.Length > 17 || !a.MacAddress.All(c => char.IsAsciiHexDigit(c) || c == ':'))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}.mac_address: must be a MAC address (aa:bb:cc:dd:ee:ff)."));
        }

        return new TaskAttachment(address.ToString(), a.Subnet, a.Gateway, a.MacAddress, a.Released);
    }
}

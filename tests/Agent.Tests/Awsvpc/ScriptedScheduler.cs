using System.Collections.Concurrent;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Agent.Tests.Awsvpc;

/// <summary>
/// The scheduler's side of the agent protocol, scripted by the test: real gRPC over a socket, real agent processes, but
/// the desired states are written by hand. The scheduler that fills the awsvpc fields (subnets from the cluster CIDR,
/// security group members, service discovery records) is phase 2 of issue 17; until it exists, this is how the
/// agent's half of the contract is driven. Agents register with the join token <see cref="JoinToken"/>; an agent's
/// instance id is <c>ci-&lt;its zone&gt;</c>.
/// </summary>
internal sealed class ScriptedScheduler : IAsyncDisposable
{
    public const string JoinToken = "scripted-join-token";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Instance> _instances = new(StringComparer.Ordinal);
    private long _version;

    private ScriptedScheduler(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<ScriptedScheduler> StartAsync(string address, Action<string> log)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = 7300 + Random.Shared.Next(0, 600);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Parse(address), port, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            var scheduler = default(ScriptedScheduler);
            builder.Services.AddSingleton(_ => scheduler!);
            var app = builder.Build();
            app.MapGrpcService<Service>();
            scheduler = new ScriptedScheduler(app, $"http://{address}:{port}");
            try
            {
                await app.StartAsync();
                log($"scripted scheduler on {scheduler.Url}");
                return scheduler;
            }
            catch (IOException) when (attempt < 5)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>Replaces an instance's desired state (a new version, sent at once if its agent is connected).</summary>
    public void SetDesired(string instanceId, DesiredState desired)
    {
        var instance = _instances.GetOrAdd(instanceId, id => new Instance(id));
        desired = desired.Clone();
        desired.Version = Interlocked.Increment(ref _version);
        desired.ContainerInstanceId = instanceId;
        lock (instance)
        {
            instance.Desired = desired;
        }

        instance.Changed.Writer.TryWrite(true);
    }

    /// <summary>Waits until the agent of <paramref name="instanceId"/> reports <paramref name="taskId"/> as <paramref name="condition"/> wants.</summary>
    public async Task<TaskReport> WaitForTaskAsync(string instanceId, string taskId, Func<TaskReport, bool> condition, TimeSpan timeout, string what)
    {
        var instance = _instances.GetOrAdd(instanceId, id => new Instance(id));
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            TaskReport? last;
            lock (instance)
            {
                next = instance.ReportsChanged.Task;
                last = instance.Reports.GetValueOrDefault(taskId);
            }

            if (last is not null && condition(last))
            {
                return last;
            }

            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for {what}; last report of {taskId}: {last}");
            }
        }
    }

    /// <summary>Waits until the agent of <paramref name="instanceId"/> has a session.</summary>
    public Task WaitForSessionAsync(string instanceId, TimeSpan timeout) =>
        Berth.TestSupport.TaskTimeouts.WaitUntilAsync(() => Task.FromResult(_instances.TryGetValue(instanceId, out var i) && i.Connected), timeout, $"{instanceId} to connect");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Instance(string id)
    {
        public string Id { get; } = id;
        public DesiredState? Desired { get; set; }
        public Dictionary<string, TaskReport> Reports { get; } = new(StringComparer.Ordinal);
        public TaskCompletionSource ReportsChanged { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public System.Threading.Channels.Channel<bool> Changed { get; } = System.Threading.Channels.Channel.CreateUnbounded<bool>();
        public volatile bool Connected;
    }

    private sealed class Service(ScriptedScheduler scheduler) : AgentService.AgentServiceBase
    {
        public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
        {
            if (request.JoinToken != JoinToken)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "bad join token"));
            }

            var id = "ci-" + request.Facts.Zone;
            return Task.FromResult(new RegisterResponse { ContainerInstanceId = id, ContainerInstanceArn = "arn:" + id, InstanceCredential = id, Cluster = "lab" });
        }

        public override async Task Session(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<SchedulerMessage> responseStream, ServerCallContext context)
        {
            var ct = context.CancellationToken;
            if (!await requestStream.MoveNext(ct) || requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.Hello)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "hello first"));
            }

            var instance = scheduler._instances.GetOrAdd(requestStream.Current.Hello.ContainerInstanceId, id => new Instance(id));
            using var writeLock = new SemaphoreSlim(1, 1);
            async Task SendAsync(SchedulerMessage message)
            {
                await writeLock.WaitAsync(ct);
                try
                {
                    await responseStream.WriteAsync(message, ct);
                }
                finally
                {
                    writeLock.Release();
                }
            }

            await SendAsync(new SchedulerMessage { SessionAccepted = new SessionAccepted { ContainerInstanceId = instance.Id, HeartbeatIntervalMs = 1000, ServerTime = Timestamp.FromDateTime(DateTime.UtcNow) } });
            instance.Connected = true;
            instance.Changed.Writer.TryWrite(true);
            var sender = Task.Run(async () =>
            {
                var sent = -1L;
                while (!ct.IsCancellationRequested)
                {
                    DesiredState? desired;
                    lock (instance)
                    {
                        desired = instance.Desired;
                    }

                    if (desired is not null && desired.Version != sent)
                    {
                        await SendAsync(new SchedulerMessage { DesiredState = desired });
                        sent = desired.Version;
                    }

                    // A new desired state at once; a heartbeat every second otherwise.
                    using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    tick.CancelAfter(TimeSpan.FromSeconds(1));
                    try
                    {
                        await instance.Changed.Reader.ReadAsync(tick.Token);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        await SendAsync(new SchedulerMessage { Heartbeat = new Heartbeat { SentAt = Timestamp.FromDateTime(DateTime.UtcNow) } });
                    }
                }
            }, ct);

            try
            {
                while (await requestStream.MoveNext(ct))
                {
                    if (requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.StateReport)
                    {
                        continue;
                    }

                    lock (instance)
                    {
                        foreach (var report in requestStream.Current.StateReport.Tasks)
                        {
                            if (!instance.Reports.TryGetValue(report.TaskId, out var last) || last.Sequence < report.Sequence)
                            {
                                instance.Reports[report.TaskId] = report;
                            }
                        }

                        var changed = instance.ReportsChanged;
                        instance.ReportsChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        changed.TrySetResult();
                    }
                }
            }
            finally
            {
                instance.Connected = false;
            }

            await sender.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}

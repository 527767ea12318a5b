using System.Threading.Channels;
using Berth.Scheduler.Tests.Infrastructure;
using Berth.Scheduler.V1;
using Berth.TestSupport;
using Grpc.Core;

namespace Berth.Scheduler.Tests.LoadBalancing;

/// <summary>
/// A balancer replica's side of the watch stream over real gRPC: it applies the snapshot and deltas as the contract
/// says (a delta must follow the version held) and sends the reports a balancer sends. It does not proxy anything.
/// </summary>
internal sealed class FakeBalancer : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<BalancerMessage, WatchEvent> _call;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly Lock _gate = new();

    // One write at a time on the request stream (gRPC refuses a write while one is in progress): the reader's acks
    // and a test's reports are sent from different tasks.
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Channel<WatchEvent> _events = Channel.CreateUnbounded<WatchEvent>();

    private FakeBalancer(AsyncDuplexStreamingCall<BalancerMessage, WatchEvent> call, string replica)
    {
        _call = call;
        Replica = replica;
        _reader = Task.Run(ReadAsync);
    }

    public string Replica { get; }

    public string Epoch { get; private set; } = "";

    public long Version { get; private set; }

    public BalancerConfig? Config { get; private set; }

    /// <summary>Targets by group ARN then <c>id:port</c>, as applied.</summary>
    public Dictionary<string, Dictionary<string, TargetState>> Targets { get; } = new(StringComparer.Ordinal);

    public List<string> Errors { get; } = [];

    /// <summary>The certificate material the replica holds, by ARN (from the snapshot, then the deltas).</summary>
    public Dictionary<string, CertificateMaterial> Certificates { get; } = new(StringComparer.Ordinal);

    /// <summary>The routes to task subnets the replica holds: subnet to via (from the snapshot, then the deltas).</summary>
    public Dictionary<string, string> TaskRoutes { get; } = new(StringComparer.Ordinal);

    /// <summary>Every delta received, in order.</summary>
    public List<ConfigDelta> Deltas { get; } = [];

    public static async Task<FakeBalancer> ConnectAsync(SchedulerHost host, string credential, string loadBalancer, string replica = "replica-1")
    {
        var client = new BalancerWatch.BalancerWatchClient(host.Channel);
        var call = client.Watch(new CallOptions(SchedulerHost.Bearer(credential)));
        var balancer = new FakeBalancer(call, replica);
        try
        {
            await call.RequestStream.WriteAsync(new BalancerMessage { Hello = new WatchHello { LoadBalancerArn = loadBalancer, ReplicaId = replica, AdvertisedAddresses = { "127.0.0.1:8080" } } }).WithTimeout();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The scheduler refused the stream at once; EndAsync tells how.
        }

        return balancer;
    }

    /// <summary>The targets of a group as this replica holds them now.</summary>
    public List<TargetState> TargetsOf(string groupArn)
    {
        lock (_gate)
        {
            return Targets.TryGetValue(groupArn, out var targets) ? [.. targets.Values] : [];
        }
    }

    public async Task WaitForAsync(Func<FakeBalancer, bool> condition, string what)
    {
        await TaskTimeouts.WaitUntilAsync(() =>
        {
            lock (_gate)
            {
                return Task.FromResult(condition(this));
            }
        }, TimeSpan.FromSeconds(30), what);
    }

    public Task ReportHealthAsync(string groupArn, IEnumerable<TargetState> targets, TargetHealthState state) =>
        SendAsync(new BalancerMessage
        {
            Health = new TargetHealthReport
            {
                Full = false,
                Observations =
                {
                    targets.Select(t => new TargetHealthObservation
                    {
                        TargetGroupArn = groupArn,
                        Target = t.Target,
                        Health = new TargetHealth { State = state, Reason = state == TargetHealthState.Healthy ? "" : "Target.FailedHealthChecks" },
                    }),
                },
            },
        }).WithTimeout();

    public Task ReportInFlightAsync(string groupArn, TargetState target, int requests) =>
        SendAsync(new BalancerMessage
        {
            InFlight = new InFlightReport { Targets = { new TargetInFlight { TargetGroupArn = groupArn, Target = target.Target, Requests = requests } } },
        }).WithTimeout();

    public Task ReportRequestsAsync(string groupArn, long requests) =>
        SendAsync(new BalancerMessage
        {
            RequestCounts = new RequestCountReport { Groups = { new TargetGroupRequests { TargetGroupArn = groupArn, Requests = requests } } },
        }).WithTimeout();

    /// <summary>The stream's end status (after the scheduler ended it).</summary>
    public async Task<Status> EndAsync()
    {
        try
        {
            await _reader.WithTimeout();
        }
        catch (RpcException e)
        {
            return e.Status;
        }

        return Status.DefaultSuccess;
    }

    private async Task ReadAsync()
    {
        await foreach (var message in _call.ResponseStream.ReadAllAsync(_stop.Token))
        {
            lock (_gate)
            {
                switch (message.BodyCase)
                {
                    case WatchEvent.BodyOneofCase.Snapshot:
                        Epoch = message.Snapshot.Epoch;
                        Version = message.Snapshot.Version;
                        Config = message.Snapshot.Config;
                        Targets.Clear();
                        Certificates.Clear();
                        TaskRoutes.Clear();
                        foreach (var route in Config.TaskRoutes)
                        {
                            TaskRoutes[route.Subnet] = route.Via;
                        }

                        foreach (var certificate in Config.Certificates)
                        {
                            Certificates[certificate.CertificateArn] = certificate;
                        }

                        foreach (var group in Config.TargetGroups)
                        {
                            Targets[group.TargetGroup.TargetGroupArn] = group.Targets.ToDictionary(Key, StringComparer.Ordinal);
                        }

                        break;
                    case WatchEvent.BodyOneofCase.Delta:
                        var delta = message.Delta;
                        if (delta.Epoch != Epoch || delta.BaseVersion != Version)
                        {
                            Errors.Add($"delta {delta.BaseVersion}->{delta.Version} does not follow {Version}");
                        }

                        Version = delta.Version;
                        Deltas.Add(delta);
                        foreach (var change in delta.Changes)
                        {
                            Apply(change);
                        }

                        break;
                }
            }

            _events.Writer.TryWrite(message);
            if (message.BodyCase is WatchEvent.BodyOneofCase.Snapshot or WatchEvent.BodyOneofCase.Delta)
            {
                var version = message.BodyCase == WatchEvent.BodyOneofCase.Snapshot ? message.Snapshot.Version : message.Delta.Version;
                await SendAsync(new BalancerMessage { Ack = new ConfigAck { Epoch = Epoch, AppliedVersion = version } });
            }
        }
    }

    private async Task SendAsync(BalancerMessage message)
    {
        await _send.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(message);
        }
        finally
        {
            _send.Release();
        }
    }

    private void Apply(ConfigChange change)
    {
        switch (change.ChangeCase)
        {
            case ConfigChange.ChangeOneofCase.TargetGroupUpserted:
                var arn = change.TargetGroupUpserted.TargetGroup.TargetGroupArn;
                if (!Targets.ContainsKey(arn))
                {
                    Targets[arn] = change.TargetGroupUpserted.Targets.ToDictionary(Key, StringComparer.Ordinal);
                }

                break;
            case ConfigChange.ChangeOneofCase.TargetGroupRemoved:
                Targets.Remove(change.TargetGroupRemoved);
                break;
            case ConfigChange.ChangeOneofCase.TargetUpserted:
                Group(change.TargetUpserted.TargetGroupArn)[Key(change.TargetUpserted.Target)] = change.TargetUpserted.Target;
                break;
            case ConfigChange.ChangeOneofCase.TargetRemoved:
                Group(change.TargetRemoved.TargetGroupArn).Remove(Key(change.TargetRemoved.Target));
                break;
            case ConfigChange.ChangeOneofCase.CertificateUpserted:
                Certificates[change.CertificateUpserted.CertificateArn] = change.CertificateUpserted;
                break;
            case ConfigChange.ChangeOneofCase.CertificateRemoved:
                Certificates.Remove(change.CertificateRemoved);
                break;
            case ConfigChange.ChangeOneofCase.TaskRouteUpserted:
                TaskRoutes[change.TaskRouteUpserted.Subnet] = change.TaskRouteUpserted.Via;
                break;
            case ConfigChange.ChangeOneofCase.TaskRouteRemoved:
                if (!TaskRoutes.Remove(change.TaskRouteRemoved))
                {
                    Errors.Add($"a change removes the route to {change.TaskRouteRemoved}, which the configuration does not hold");
                }

                break;
        }
    }

    private Dictionary<string, TargetState> Group(string arn)
    {
        if (!Targets.TryGetValue(arn, out var group))
        {
            Errors.Add($"a change names group {arn}, which the configuration does not hold");
            Targets[arn] = group = new(StringComparer.Ordinal);
        }

        return group;
    }

    private static string Key(TargetState t) => $"{t.Target.Id}:{t.Target.Port}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or ObjectDisposedException)
        {
            // Closed. A read that was under way when the call was disposed ends with ObjectDisposedException.
        }

        _stop.Dispose();
        _send.Dispose();
    }
}

using Berth.Scheduler.Hosting;
using Berth.Scheduler.Kernel;
using Berth.Scheduler.LoadBalancing;
using Berth.Scheduler.Security;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.ControlPlane;

/// <summary>
/// The balancers' watch stream: after the Hello, a snapshot of the load balancer's configuration, then a delta for
/// every committed change a balancer would see (the kernel's change feed wakes the stream and says which records the
/// commits wrote; deltas coalesce and never miss a change). When every record written is a target group the replica
/// already holds — registrations, deregistrations, the drainer's removals — only those groups are read under the
/// cluster's lock and diffed; anything else rebuilds the whole configuration and diffs it. A commit that published the
/// cluster's host addressing anew (<see cref="CommittedChange.HostNetworkPublished"/>) reads only the task routes.
/// Versions are kernel commit sequences, comparable within one epoch; the epoch is new for every scheduler process,
/// so a balancer reconnecting after a restart gets a snapshot. Reports coming back go to <see cref="BalancerReports"/>.
/// </summary>
internal sealed partial class BalancerWatchService(StateKernel kernel, BalancerReports reports, IOptions<SchedulerOptions> options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<BalancerWatchService> logger)
    : BalancerWatch.BalancerWatchBase
{
    public override async Task Watch(IAsyncStreamReader<BalancerMessage> requestStream, IServerStreamWriter<WatchEvent> responseStream, ServerCallContext context)
    {
        var lbArn = AuthInterceptor.BalancerLoadBalancer(context);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var interval = options.Value.BalancerReportInterval;

        using var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(stream.Token);
        helloTimeout.CancelAfter(interval * 3);
        bool any;
        try
        {
            any = await requestStream.MoveNext(helloTimeout.Token);
        }
        catch (OperationCanceledException) when (!stream.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "No Hello within three report intervals."));
        }

        if (!any || requestStream.Current.BodyCase != BalancerMessage.BodyOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: the first message of a watch must be Hello."));
        }

        var hello = requestStream.Current.Hello;
        var cluster = kernel.ClusterOfLoadBalancing(lbArn)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"LoadBalancerNotFound: hello.load_balancer_arn: load balancer '{lbArn}' no longer exists."));
        var name = kernel.ReadCluster(cluster, s => s?.LoadBalancing.LoadBalancers.GetValueOrDefault(lbArn)?.Name);
        if (!string.IsNullOrEmpty(hello.LoadBalancerArn) && hello.LoadBalancerArn != lbArn && hello.LoadBalancerArn != name)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "hello.load_balancer_arn: this credential is for another load balancer."));
        }

        var replica = hello.ReplicaId;
        if (replica.Length is 0 or > 128 || replica.Any(char.IsControl))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "hello.replica_id: must be 1-128 printable characters."));
        }

        var addresses = hello.AdvertisedAddresses.Take(16).Where(a => a.Length <= 300 && !a.Any(char.IsControl)).ToList();
        var changed = new Wake();
        var observer = new Observer(cluster, changed);
        using var subscription = kernel.Subscribe(observer);

        // Subscribed before the snapshot is read: a change committed in between wakes the loop and becomes a delta.
        var (snapshot, snapshotVersion) = Read(cluster, lbArn) ?? throw new RpcException(new Status(StatusCode.NotFound, $"LoadBalancerNotFound: load balancer '{lbArn}' no longer exists."));
        // Present before the snapshot goes out: the replica's acknowledgement of it must find it here.
        reports.Connected(lbArn, replica, addresses);
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            await responseStream.WriteAsync(new WatchEvent
            {
                Snapshot = new ConfigSnapshot { Epoch = reports.Epoch, Version = snapshotVersion, Config = snapshot, ReportIntervalMs = (int)interval.TotalMilliseconds },
            }, stream.Token);
            var sent = new SentConfiguration(snapshot, snapshotVersion);
            var version = snapshotVersion;
            Log.WatchStarted(logger, lbArn, replica, snapshotVersion);
            var reader = ReadLoopAsync(requestStream, lbArn, replica, stream.Token);
            var tick = timer.WaitForNextTickAsync(stream.Token).AsTask();
            var woken = changed.NextAsync(stream.Token);
            while (true)
            {
                await Task.WhenAny(woken, tick, reader);
                if (reader.IsCompleted)
                {
                    await reader;
                    return;
                }

                if (woken.IsCompleted)
                {
                    await woken;
                    woken = changed.NextAsync(stream.Token);
                    var (written, hostsChanged) = observer.TakeWritten();
                    var changes = written.Count == 0 && hostsChanged && ReadRoutes(cluster, lbArn) is ({ } routes, var routesVersion)
                        ? sent.ReplaceRoutes(routes, routesVersion)
                        : sent.HoldsGroups(written) && !hostsChanged && ReadGroups(cluster, lbArn, written) is ({ } groups, var groupsVersion)
                            ? sent.ReplaceGroups(groups, groupsVersion)
                            : Read(cluster, lbArn) is ({ } config, var configVersion)
                                ? sent.Replace(config, configVersion)
                                : throw new RpcException(new Status(StatusCode.NotFound, $"LoadBalancerNotFound: load balancer '{lbArn}' was deleted."));
                    if (changes.Count > 0)
                    {
                        var delta = new ConfigDelta { Epoch = reports.Epoch, BaseVersion = version, Version = sent.Version };
                        delta.Changes.AddRange(changes);
                        await responseStream.WriteAsync(new WatchEvent { Delta = delta }, stream.Token);
                        version = sent.Version;
                    }
                }

                if (tick.IsCompleted)
                {
                    await tick;
                    tick = timer.WaitForNextTickAsync(stream.Token).AsTask();
                    await responseStream.WriteAsync(new WatchEvent { Heartbeat = new WatchHeartbeat { SentAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()), Version = version } }, stream.Token);
                }
            }
        }
        catch (OperationCanceledException) when (stream.IsCancellationRequested)
        {
            // The balancer went away, or the scheduler is stopping.
        }
        finally
        {
            reports.Disconnected(lbArn, replica);
            Log.WatchEnded(logger, lbArn, replica);
        }
    }

    /// <summary>The configuration and the commit sequence it reflects, read together under the cluster's lock.</summary>
    private (BalancerConfig Config, long Version)? Read(string cluster, string lbArn) => kernel.ReadCluster(cluster, state =>
    {
        if (state is null || !state.LoadBalancing.LoadBalancers.ContainsKey(lbArn))
        {
            return ((BalancerConfig, long)?)null;
        }

        var config = LoadBalancingWire.Config(state.LoadBalancing, lbArn, kernel.Certificates);
        config.TaskRoutes.AddRange(LoadBalancingWire.TaskRoutes(state, lbArn));
        return (config, Math.Max(1, kernel.LastSequence));
    });

    /// <summary>The task routes alone, read under the cluster's lock (one entry per host); null when the load balancer is gone.</summary>
    private (List<TaskRoute> Routes, long Version)? ReadRoutes(string cluster, string lbArn) => kernel.ReadCluster(cluster, state =>
        state is null || !state.LoadBalancing.LoadBalancers.ContainsKey(lbArn)
            ? ((List<TaskRoute>, long)?)null
            : (LoadBalancingWire.TaskRoutes(state, lbArn), Math.Max(1, kernel.LastSequence)));

    /// <summary>
    /// The configuration entries of target groups, read under the cluster's lock: the cost of these groups, not of the
    /// load balancer. Null when one is gone (the whole configuration is read then). The version is the kernel's newest
    /// commit, which may count a commit whose own notification is still on its way; that notification wakes the
    /// stream again and its changes follow in the next delta (a replica's version orders deltas, nothing more).
    /// </summary>
    private (List<TargetGroupState> Groups, long Version)? ReadGroups(string cluster, string lbArn, HashSet<string> arns) => kernel.ReadCluster(cluster, state =>
    {
        if (state is null || !state.LoadBalancing.LoadBalancers.ContainsKey(lbArn))
        {
            return ((List<TargetGroupState>, long)?)null;
        }

        var groups = new List<TargetGroupState>(arns.Count);
        foreach (var arn in arns)
        {
            if (!state.LoadBalancing.TargetGroups.TryGetValue(arn, out var group))
            {
                return null;
            }

            groups.Add(LoadBalancingWire.ConfigEntry(group));
        }

        return (groups, Math.Max(1, kernel.LastSequence));
    });

    private async Task ReadLoopAsync(IAsyncStreamReader<BalancerMessage> requestStream, string lbArn, string replica, CancellationToken ct)
    {
        await Task.Yield();
        while (await requestStream.MoveNext(ct))
        {
            var message = requestStream.Current;
            switch (message.BodyCase)
            {
                case BalancerMessage.BodyOneofCase.Health:
                    reports.Health(lbArn, replica, message.Health.Full, [.. message.Health.Observations
                        .Where(o => o.Target is not null && o.Health is not null)
                        .Select(o => (o.TargetGroupArn, TargetRecord.KeyOf(o.Target.Id, o.Target.Port), LoadBalancingWire.FromWire(o.Health.State), Clip(o.Health.Reason), Clip(o.Health.Description)))]);
                    break;
                case BalancerMessage.BodyOneofCase.InFlight:
                    reports.InFlight(lbArn, replica, [.. message.InFlight.Targets.Where(t => t.Target is not null)
                        .Select(t => (t.TargetGroupArn, TargetRecord.KeyOf(t.Target.Id, t.Target.Port), Math.Max(0, t.Requests) + Math.Max(0, t.Connections)))]);
                    break;
                case BalancerMessage.BodyOneofCase.RequestCounts:
                    reports.RequestCounts(lbArn, replica, [.. message.RequestCounts.Groups.Select(g => (g.TargetGroupArn, g.Requests))]);
                    break;
                case BalancerMessage.BodyOneofCase.Ack:
                    if (message.Ack.RefusedVersion != 0)
                    {
                        Log.ConfigRefused(logger, lbArn, replica, message.Ack.RefusedVersion, Clip(message.Ack.RefusedReason));
                    }

                    reports.Applied(lbArn, replica, message.Ack.AppliedVersion);
                    break;
                case BalancerMessage.BodyOneofCase.Heartbeat:
                    reports.Heard(lbArn, replica);
                    break;
                case BalancerMessage.BodyOneofCase.Hello:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: only the first message of a watch is a Hello."));
            }
        }
    }

    private static string Clip(string value) => Elb.Printable(value.Length > 512 ? value[..512] : value);

    /// <summary>
    /// Wakes the stream for commits of its cluster that touched load balancing (coalescing), and gathers the ARNs they
    /// wrote until the stream takes them.
    /// </summary>
    private sealed class Observer(string cluster, Wake wake) : IChangeObserver
    {
        private readonly Lock _gate = new();
        private HashSet<string> _written = new(StringComparer.Ordinal);
        private bool _hostsChanged;

        public void OnCommitted(CommittedChange change)
        {
            if (change.Cluster == cluster && (change.LoadBalancingChanged || change.HostNetworkPublished))
            {
                lock (_gate)
                {
                    _written.UnionWith(change.LoadBalancingWritten);
                    _hostsChanged |= change.HostNetworkPublished;
                }

                wake.Set();
            }
            else if (change.CertificatesWritten.Count > 0)
            {
                // A (re-)import or delete of a certificate, in no cluster: its ARN is no target group, so the stream
                // reads the whole configuration and sends the new material if one of its listeners uses it.
                lock (_gate)
                {
                    _written.UnionWith(change.CertificatesWritten);
                }

                wake.Set();
            }
        }

        /// <summary>
        /// The ARNs written since the last call, and whether the cluster's host addressing was published meanwhile (taken
        /// before the state is read, so none is lost).
        /// </summary>
        public (HashSet<string> Written, bool HostsChanged) TakeWritten()
        {
            lock (_gate)
            {
                var taken = (_written, _hostsChanged);
                _written = new HashSet<string>(StringComparer.Ordinal);
                _hostsChanged = false;
                return taken;
            }
        }
    }

    /// <summary>
    /// A coalescing signal: one pending wake at most; a wake set after the loop took the pending one stays pending, so
    /// a change committed while a delta is being built is never missed.
    /// </summary>
    private sealed class Wake
    {
        private readonly System.Threading.Channels.Channel<bool> _channel = System.Threading.Channels.Channel.CreateBounded<bool>(
            new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });

        public void Set() => _channel.Writer.TryWrite(true);

        /// <summary>Completes when a wake is pending, and takes it.</summary>
        public async Task NextAsync(CancellationToken ct)
        {
            await _channel.Reader.ReadAsync(ct);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Balancer replica {Replica} of {LoadBalancer} watches (snapshot version {Version})")]
        public static partial void WatchStarted(ILogger logger, string loadBalancer, string replica, long version);

        [LoggerMessage(Level = LogLevel.Information, Message = "Balancer replica {Replica} of {LoadBalancer} stopped watching")]
        public static partial void WatchEnded(ILogger logger, string loadBalancer, string replica);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Balancer replica {Replica} of {LoadBalancer} refused configuration version {Version}: {Reason}")]
        public static partial void ConfigRefused(ILogger logger, string loadBalancer, string replica, long version, string reason);
    }
}

using System.Reflection;
using Berth.Core.Concurrency;
using Berth.Core.Networking;
using Berth.Core.Resilience;
using Berth.LoadBalancer.Health;
using Berth.LoadBalancer.Hosting;
using Berth.LoadBalancer.Routing;
using Berth.LoadBalancer.State;
using Berth.Scheduler.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using V1 = Berth.Scheduler.V1;

namespace Berth.LoadBalancer.Watch;

/// <summary>
/// The balancer's side of <c>BalancerWatch.Watch</c> (protos/berth/scheduler/v1/load_balancing.proto): Hello, then a
/// snapshot and deltas in, acks, health and in-flight reports and heartbeats out. Any failure ends the stream and
/// the balancer reconnects with jittered backoff, serving the last configuration meanwhile (fail static); the
/// scheduler's answer to the next Hello is a full snapshot, so nothing missed in between is lost.
/// </summary>
internal sealed partial class WatchClient(
    ConfigStore store,
    TargetHealthTable health,
    InFlightCounter inFlight,
    RequestCounts requests,
    DataDirectory data,
    IOptions<BalancerOptions> options,
    TimeProvider time,
    ILogger<WatchClient> logger) : BackgroundService
{
    private static readonly string s_version = typeof(WatchClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
    /// <summary>The longest wait between reconnects: a balancer catches up within 30 s of the scheduler's return.</summary>
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);

    private volatile bool _connected;

    /// <summary>True while a stream is open and its snapshot was received.</summary>
    public bool Connected => _connected;

    /// <summary>Completes whenever <see cref="Connected"/> changes (tests wait on it).</summary>
    public ChangeSignal ConnectionChanged { get; } = new();

    /// <summary>Addresses clients reach this replica at, sent in Hello (set once the listeners are known).</summary>
    public IReadOnlyList<string> AdvertisedAddresses { get; set; } = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        using var channel = GrpcChannel.ForAddress(o.SchedulerUrl!, new GrpcChannelOptions
        {
            HttpHandler = ControlPlaneHttpHandler.Create(),
        });
        var client = new BalancerWatch.BalancerWatchClient(channel);
        var backoff = new ReconnectBackoff(Random.Shared, MaxReconnectDelay);
        var replica = data.ReplicaId();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunStreamAsync(client, replica, backoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ResyncException ex)
            {
                // Not a failure: reconnect at once for a snapshot.
                LogResync(logger, ex.Message);
                SetConnected(false);
                continue;
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or OperationCanceledException or StreamLostException)
            {
                LogStreamEnded(logger, ex.Message);
            }

            SetConnected(false);
            var delay = backoff.Next();
            LogReconnecting(logger, delay.TotalMilliseconds);
            await Task.Delay(delay, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task RunStreamAsync(BalancerWatch.BalancerWatchClient client, string replica, ReconnectBackoff backoff, CancellationToken stoppingToken)
    {
        var token = ReadToken();
        using var streamCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var ct = streamCts.Token;
        using var call = client.Watch(new Metadata { { "authorization", $"Bearer {token}" } }, cancellationToken: ct);
        using var writeLock = new SemaphoreSlim(1, 1);

        async Task SendAsync(BalancerMessage message)
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

        var held = store.Current;
        var hello = new WatchHello
        {
            LoadBalancerArn = options.Value.LoadBalancer,
            ReplicaId = replica,
            HaveEpoch = held?.Epoch ?? "",
            HaveVersion = held?.Version ?? 0,
            BalancerVersion = s_version,
        };
        hello.AdvertisedAddresses.AddRange(AdvertisedAddresses);
        await SendAsync(new BalancerMessage { Hello = hello });

        var reportInterval = TimeSpan.FromSeconds(10);
        var lastHeard = time.GetTimestamp();
        var snapshotSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
            {
                lastHeard = time.GetTimestamp();
                switch (message.BodyCase)
                {
                    case WatchEvent.BodyOneofCase.Snapshot:
                        var snapshot = message.Snapshot;
                        if (snapshot.ReportIntervalMs > 0)
                        {
                            reportInterval = TimeSpan.FromMilliseconds(snapshot.ReportIntervalMs);
                        }

                        var refused = store.ApplySnapshot(snapshot);
                        await SendAsync(new BalancerMessage { Ack = Ack(refused is null ? null : snapshot.Version, refused) });
                        backoff.Reset();
                        SetConnected(true);
                        snapshotSeen.TrySetResult();
                        break;
                    case WatchEvent.BodyOneofCase.Delta:
                        var (result, reason) = store.ApplyDelta(message.Delta);
                        if (result == DeltaResult.Resync)
                        {
                            throw new ResyncException(reason!);
                        }

                        await SendAsync(new BalancerMessage { Ack = Ack(result == DeltaResult.Refused ? message.Delta.Version : null, reason) });
                        break;
                }
            }

            throw new StreamLostException("The scheduler ended the watch stream.");
        }, ct);

        try
        {
            await Task.WhenAny(snapshotSeen.Task, reader);
            if (reader.IsCompleted)
            {
                await reader;
            }

            await SendHealthAsync(SendAsync, full: true, since: 0);
            var sentStamp = health.Stamp;
            var lastFull = time.GetTimestamp();
            var drained = new Dictionary<(string, string), (int, int)>();
            using var timer = new PeriodicTimer(options.Value.InFlightReportInterval, time);
            var tick = timer.WaitForNextTickAsync(ct).AsTask();
            var changed = health.Changed.Next;
            while (true)
            {
                await Task.WhenAny(changed, tick, reader);
                if (reader.IsCompleted)
                {
                    await reader;
                }

                if (changed.IsCompleted)
                {
                    changed = health.Changed.Next;
                    var stamp = health.Stamp;
                    await SendHealthAsync(SendAsync, full: false, since: sentStamp);
                    sentStamp = stamp;
                }

                if (tick.IsCompleted)
                {
                    // Throws when the stream is being torn down (a cancelled tick would otherwise spin this loop).
                    await tick;
                    tick = timer.WaitForNextTickAsync(ct).AsTask();
                    await SendInFlightAsync(SendAsync, drained);
                    if (time.GetElapsedTime(lastFull) >= reportInterval)
                    {
                        lastFull = time.GetTimestamp();
                        var stamp = health.Stamp;
                        await SendHealthAsync(SendAsync, full: true, since: 0);
                        sentStamp = stamp;
                        await SendRequestCountsAsync(SendAsync);
                        await SendAsync(new BalancerMessage { Heartbeat = new WatchHeartbeat { SentAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()), Version = store.Current?.Version ?? 0 } });
                    }

                    if (time.GetElapsedTime(lastHeard) > 3 * reportInterval)
                    {
                        throw new StreamLostException($"Nothing heard from the scheduler for {3 * reportInterval.TotalSeconds:0} s.");
                    }
                }
            }
        }
        finally
        {
            await streamCts.CancelAsync();
            try
            {
                await reader;
            }
            catch (Exception)
            {
                // The stream's outcome is reported by the caller; the reader's own ending is expected here.
            }
        }
    }

    private ConfigAck Ack(long? refusedVersion, string? reason) => new()
    {
        Epoch = store.Current?.Epoch ?? "",
        AppliedVersion = store.Current?.Version ?? 0,
        RefusedVersion = refusedVersion ?? 0,
        RefusedReason = reason ?? "",
    };

    private async Task SendHealthAsync(Func<BalancerMessage, Task> send, bool full, long since)
    {
        var report = new TargetHealthReport { Full = full };
        foreach (var entry in full ? health.Entries : health.ChangedSince(since))
        {
            report.Observations.Add(Observation(entry));
        }

        if (full || report.Observations.Count > 0)
        {
            await send(new BalancerMessage { Health = report });
        }
    }

    private async Task SendRequestCountsAsync(Func<BalancerMessage, Task> send)
    {
        var taken = requests.Take();
        if (taken.Count == 0)
        {
            return;
        }

        var report = new RequestCountReport();
        report.Groups.AddRange(taken.Select(t => new TargetGroupRequests { TargetGroupArn = t.TargetGroupArn, Requests = t.Requests }));
        try
        {
            await send(new BalancerMessage { RequestCounts = report });
        }
        catch
        {
            // The stream broke: the next stream's first report carries these counts.
            requests.Return(taken);
            throw;
        }
    }

    private async Task SendInFlightAsync(Func<BalancerMessage, Task> send, Dictionary<(string, string), (int, int)> last)
    {
        if (store.Current is not { } model)
        {
            return;
        }

        var report = new InFlightReport();
        var seen = new HashSet<(string, string)>();
        foreach (var (group, target, requests, connections) in inFlight.Draining(model))
        {
            var key = (group.Arn, target.Key);
            seen.Add(key);
            if (last.TryGetValue(key, out var before) && before == (requests, connections))
            {
                continue;
            }

            last[key] = (requests, connections);
            report.Targets.Add(new TargetInFlight
            {
                TargetGroupArn = group.Arn,
                Target = new TargetDescription { Id = target.Host, Port = target.Port },
                Requests = requests,
                Connections = connections,
            });
        }

        foreach (var gone in last.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            last.Remove(gone);
        }

        if (report.Targets.Count > 0)
        {
            await send(new BalancerMessage { InFlight = report });
        }
    }

    internal static TargetHealthObservation Observation(TargetHealthEntry entry)
    {
        var current = entry.Current;
        return new TargetHealthObservation
        {
            TargetGroupArn = entry.TargetGroupArn,
            Target = new TargetDescription { Id = entry.Target.Host, Port = entry.Target.Port },
            Health = new V1.TargetHealth
            {
                State = current.State switch
                {
                    Health.TargetState.Initial => TargetHealthState.Initial,
                    Health.TargetState.Healthy => TargetHealthState.Healthy,
                    Health.TargetState.Unhealthy => TargetHealthState.Unhealthy,
                    Health.TargetState.Draining => TargetHealthState.Draining,
                    Health.TargetState.Unavailable => TargetHealthState.Unavailable,
                    _ => TargetHealthState.Unused,
                },
                Reason = current.Reason,
                Description = current.Description,
            },
            Since = Timestamp.FromDateTimeOffset(current.Since),
        };
    }

    private string ReadToken()
    {
        var path = options.Value.TokenFile!;
        try
        {
            var token = File.ReadAllText(path).Trim();
            return token.Length > 0 ? token : throw new StreamLostException($"The token file {path} is empty.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StreamLostException($"The token file {path} cannot be read: {ex.Message}");
        }
    }

    private void SetConnected(bool value)
    {
        if (_connected != value)
        {
            _connected = value;
            ConnectionChanged.Notify();
        }
    }

    private sealed class StreamLostException(string message) : Exception(message);

    private sealed class ResyncException(string message) : Exception(message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watch stream ended: {Reason}; serving the last configuration")]
    private static partial void LogStreamEnded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnecting to the scheduler in {DelayMs:0} ms")]
    private static partial void LogReconnecting(ILogger logger, double delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resyncing with the scheduler: {Reason}")]
    private static partial void LogResync(ILogger logger, string reason);
}

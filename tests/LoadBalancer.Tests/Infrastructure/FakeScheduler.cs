using System.Collections.Concurrent;
using System.Net;
using Berth.Core.Concurrency;
using Berth.Scheduler.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.LoadBalancer.Tests.Infrastructure;

/// <summary>
/// The scheduler side of <c>BalancerWatch</c>, hand-written and fed by the test: a real gRPC server on a loopback port
/// that answers each Hello with the snapshot the test set, pushes the deltas the test sends to every open stream,
/// and records everything the balancers send. It can be stopped and started again on the same port.
/// </summary>
internal sealed class FakeScheduler : IAsyncDisposable
{
    public const string Token = "balancer-secret";

    private readonly ConcurrentDictionary<Guid, IServerStreamWriter<WatchEvent>> _streams = new();
    private readonly Lock _lock = new();
    private WebApplication? _app;

    public FakeScheduler(ConfigSnapshot snapshot)
    {
        Snapshot = snapshot;
    }

    /// <summary>What a new stream gets first.</summary>
    public ConfigSnapshot Snapshot { get; set; }

    public int Port { get; private set; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    /// <summary>Every message received, in order.</summary>
    public List<BalancerMessage> Received { get; } = [];

    /// <summary>Completes on every received message and every stream opened or closed.</summary>
    public ChangeSignal Activity { get; } = new();

    public int OpenStreams => _streams.Count;

    public int StreamsOpened;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l => l.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        _app.MapGrpcService<WatchService>();
        await _app.StartAsync();
        Port = new Uri(_app.Urls.First()).Port;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(TimeSpan.FromSeconds(1));
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Sends a delta to every open stream and makes it part of the snapshot new streams get.</summary>
    public async Task PushAsync(ConfigDelta delta)
    {
        foreach (var stream in _streams.Values)
        {
            await stream.WriteAsync(new WatchEvent { Delta = delta });
        }
    }

    public T[] Messages<T>(Func<BalancerMessage, T?> pick)
        where T : class
    {
        lock (_lock)
        {
            return [.. Received.Select(pick).OfType<T>()];
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds over what was received.</summary>
    public async Task WaitForAsync(Func<FakeScheduler, bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var next = Activity.Next;
            if (condition(this))
            {
                return;
            }

            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The fake scheduler never saw {what}.");
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private void Record(BalancerMessage message)
    {
        lock (_lock)
        {
            Received.Add(message);
        }

        Activity.Notify();
    }

    private sealed class WatchService(FakeScheduler owner) : BalancerWatch.BalancerWatchBase
    {
        public override async Task Watch(IAsyncStreamReader<BalancerMessage> requestStream, IServerStreamWriter<WatchEvent> responseStream, ServerCallContext context)
        {
            if (context.RequestHeaders.GetValue("authorization") != $"Bearer {Token}")
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "a balancer credential is required"));
            }

            if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.BodyCase != BalancerMessage.BodyOneofCase.Hello)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "hello: the first message must be a Hello"));
            }

            owner.Record(requestStream.Current);
            var id = Guid.NewGuid();
            await responseStream.WriteAsync(new WatchEvent { Snapshot = owner.Snapshot });
            owner._streams[id] = responseStream;
            Interlocked.Increment(ref owner.StreamsOpened);
            owner.Activity.Notify();
            try
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                    owner.Record(requestStream.Current);
                    if (requestStream.Current.BodyCase == BalancerMessage.BodyOneofCase.Heartbeat)
                    {
                        // Heartbeats flow both ways: answer each one, as the scheduler does.
                        await responseStream.WriteAsync(new WatchEvent { Heartbeat = new WatchHeartbeat { Version = owner.Snapshot.Version } });
                    }
                }
            }
            catch (Exception) when (context.CancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                owner._streams.TryRemove(id, out _);
                owner.Activity.Notify();
            }
        }
    }
}

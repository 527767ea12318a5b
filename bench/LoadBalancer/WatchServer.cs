using System.Net;
using Berth.Scheduler.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Berth.Bench.LoadBalancer;

/// <summary>The scheduler's side of the watch stream, serving one fixed configuration (the benchmark needs no changes).</summary>
internal sealed class WatchServer(ConfigSnapshot snapshot, string token) : IAsyncDisposable
{
    private WebApplication? _app;

    public ConfigSnapshot Snapshot { get; } = snapshot;

    public string Token { get; } = token;

    public Uri Url { get; private set; } = null!;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        _app.MapGrpcService<Service>();
        await _app.StartAsync();
        Url = new Uri(_app.Urls.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class Service(WatchServer owner) : BalancerWatch.BalancerWatchBase
    {
        public override async Task Watch(IAsyncStreamReader<BalancerMessage> requests, IServerStreamWriter<WatchEvent> responses, ServerCallContext context)
        {
            if (context.RequestHeaders.GetValue("authorization") != $"Bearer {owner.Token}")
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "balancer credential required"));
            }

            await requests.MoveNext(context.CancellationToken);
            await responses.WriteAsync(new WatchEvent { Snapshot = owner.Snapshot });
            try
            {
                while (await requests.MoveNext(context.CancellationToken))
                {
                    if (requests.Current.BodyCase == BalancerMessage.BodyOneofCase.Heartbeat)
                    {
                        await responses.WriteAsync(new WatchEvent { Heartbeat = new WatchHeartbeat { Version = owner.Snapshot.Version } });
                    }
                }
            }
            catch (Exception) when (context.CancellationToken.IsCancellationRequested)
            {
            }
        }
    }
}

using System.Net;
using System.Net.WebSockets;
using Berth.Scheduler.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.LoadBalancer.Tests.Infrastructure;

/// <summary>
/// A real HTTP target on a loopback port: answers every path with its name (header <c>X-Target</c> too), <c>/health</c>
/// with <see cref="HealthStatus"/>, <c>/headers</c> with the request's headers (one <c>name: value</c> a line), <c>/slow</c> once <see cref="ReleaseSlow"/> is called, <c>/ws</c> as a WebSocket
/// echo, and a unary gRPC method (<c>LoadBalancing.DescribeLoadBalancers</c> answering its name) when HTTP/2-only.
/// </summary>
internal sealed class TargetServer : IAsyncDisposable
{
    private WebApplication _app = null!;
    private TaskCompletionSource _slowGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _hits;
    private int _slowInFlight;

    private TargetServer(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public int Port { get; private set; }

    public int Hits => Volatile.Read(ref _hits);

    public int SlowInFlight => Volatile.Read(ref _slowInFlight);

    /// <summary>The status <c>/health</c> answers with.</summary>
    public int HealthStatus { get; set; } = 200;

    /// <summary>Completes on every request (tests wait on it).</summary>
    public Berth.Core.Concurrency.ChangeSignal Requests { get; } = new();

    public static async Task<TargetServer> StartAsync(string name, bool http2Only = false, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = http2Only ? HttpProtocols.Http2 : HttpProtocols.Http1));
        var server = new TargetServer(name);
        builder.Services.AddSingleton(server);
        var app = builder.Build();
        server._app = app;
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            Interlocked.Increment(ref server._hits);
            server.Requests.Notify();
            context.Response.Headers["X-Target"] = name;
            await next(context);
        });
        app.MapGet("/health", (HttpContext c) => Results.Text(name, statusCode: server.HealthStatus));
        app.MapGet("/headers", (HttpContext c) => Results.Text(string.Join('\n', c.Request.Headers.Select(h => $"{h.Key}: {h.Value}"))));
        app.MapGet("/slow", async () =>
        {
            Interlocked.Increment(ref server._slowInFlight);
            server.Requests.Notify();
            try
            {
                await server._slowGate.Task;
                return Results.Text($"{name} slow");
            }
            finally
            {
                Interlocked.Decrement(ref server._slowInFlight);
            }
        });
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                var reply = System.Text.Encoding.UTF8.GetBytes($"{name}:{System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count)}");
                await socket.SendAsync(reply, WebSocketMessageType.Text, true, CancellationToken.None);
            }
        });
        app.MapGrpcService<NameService>();
        app.Map("/{**path}", (HttpContext c) => Results.Text(name));
        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    /// <summary>Lets every waiting <c>/slow</c> request finish.</summary>
    public void ReleaseSlow() => Interlocked.Exchange(ref _slowGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public async Task StopAsync() => await _app.StopAsync(TimeSpan.FromSeconds(1));

    public async ValueTask DisposeAsync()
    {
        ReleaseSlow();
        await _app.StopAsync(TimeSpan.FromSeconds(1));
        await _app.DisposeAsync();
    }

    private sealed class NameService(TargetServer server) : Scheduler.V1.LoadBalancing.LoadBalancingBase
    {
        public override Task<DescribeLoadBalancersResponse> DescribeLoadBalancers(DescribeLoadBalancersRequest request, ServerCallContext context) =>
            Task.FromResult(new DescribeLoadBalancersResponse { LoadBalancers = { new Berth.Scheduler.V1.LoadBalancer { LoadBalancerName = server.Name } } });
    }
}

using System.Net;
using ARSoft.Tools.Net.Dns;
using Berth.Agent.Configuration;
using Berth.Agent.Networking;
using Microsoft.Extensions.Options;

namespace Berth.Agent.Dns;

/// <summary>
/// The host's service discovery DNS server (ARSoft.Tools.Net), on the task bridge's address, port 53 (UDP and TCP):
/// every awsvpc sandbox gets that address as its only nameserver, so the task's containers resolve
/// <c>&lt;service&gt;.&lt;namespace&gt;</c> here and everything else through the host's resolvers. It follows the
/// bridge: it binds once the host has a task subnet and moves when the subnet changes.
/// </summary>
internal sealed partial class ServiceDiscoveryServer(TaskNetworking networking, IOptions<AgentOptions> options, TimeProvider time, ILogger<ServiceDiscoveryServer> logger) : BackgroundService
{
    /// <summary>Milliseconds a UDP/TCP exchange may take before the server gives up on it.</summary>
    private const int TransportTimeoutMs = 5000;

    /// <summary>The address the server listens on, once bound.</summary>
    public IPEndPoint? Endpoint { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var awsvpc = options.Value.Awsvpc;
        if (!awsvpc.Dns)
        {
            return;
        }

        var upstreams = awsvpc.DnsUpstreams.Count > 0
            ? awsvpc.DnsUpstreams.Select(IPAddress.Parse).ToList()
            : ReadHostResolvers();
        var responder = new DnsResponder(() => networking.Discovery, new DnsUpstream(upstreams, TimeSpan.FromSeconds(2)), awsvpc.DnsTtl);
        DnsServer? server = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = networking.BridgeChanged;
                var gateway = networking.Active?.TaskSubnet.Gateway;
                if (!Equals(gateway, Endpoint?.Address))
                {
                    server?.Stop();
                    server = null;
                    Endpoint = null;
                    if (gateway is not null)
                    {
#pragma warning disable CA2000 // ownership passes to `server`, stopped when the bridge moves and in the finally below.
                        server = TryStart(new IPEndPoint(gateway, 53), responder, upstreams, stoppingToken);
#pragma warning restore CA2000
                    }
                }

                // A failed bind (the address not up yet, port taken) is retried; otherwise wait for the bridge to move.
                var retry = server is null && gateway is not null ? Task.Delay(TimeSpan.FromSeconds(2), time, stoppingToken) : Task.Delay(Timeout.Infinite, stoppingToken);
                await Task.WhenAny(changed, retry);
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            server?.Stop();
        }
    }

    private DnsServer? TryStart(IPEndPoint endpoint, DnsResponder responder, List<IPAddress> upstreams, CancellationToken stoppingToken)
    {
#pragma warning disable CA2000 // the server owns its two transports; TryStart stops it on a failed bind or hands it to ExecuteAsync.
        var server = new DnsServer([new UdpServerTransport(endpoint, TransportTimeoutMs), new TcpServerTransport(endpoint, TransportTimeoutMs, TransportTimeoutMs)]);
#pragma warning restore CA2000
        server.QueryReceived += async (_, e) =>
        {
            if (e.Query is DnsMessage query)
            {
                e.Response = await responder.AnswerAsync(query, stoppingToken);
            }
        };
        server.ExceptionThrown += (_, e) =>
        {
            LogServerError(logger, e.Exception.Message);
            return Task.CompletedTask;
        };
        try
        {
            server.Start();
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            LogBindFailed(logger, endpoint.ToString(), ex.Message);
            server.Stop();
            return null;
        }

        Endpoint = endpoint;
        LogListening(logger, endpoint, upstreams.Count == 0 ? "(none)" : upstreams[0].ToString() + (upstreams.Count > 1 ? ", ..." : string.Empty));
        return server;
    }

    private static List<IPAddress> ReadHostResolvers()
    {
        try
        {
            return [.. DnsUpstream.ParseResolvConf(File.ReadAllText("/etc/resolv.conf"))];
        }
        catch (IOException)
        {
            return [];
        }
    }
}

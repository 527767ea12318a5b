using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Berth.LoadBalancer.Relay;

/// <summary>
/// Kestrel's transport for IP endpoints when the relay is on (<c>Balancer:FastPath</c>): Kestrel takes the last
/// registered factory that can bind an endpoint, so this one replaces its socket transport, and makes the same
/// socket connections (<see cref="SocketConnectionContextFactory"/>, with the transport's options) for everything
/// the relay does not serve (<see cref="RelayListener"/>).
/// </summary>
internal sealed class RelayListenerFactory(Http1Relay relay, IOptions<SocketTransportOptions> options, ILoggerFactory loggers)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => relay.Enabled && endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transport = options.Value;
        // What SocketTransportFactory passes on from the same options (its listener makes one factory per endpoint too).
        var contexts = new SocketConnectionContextFactory(
            new SocketConnectionFactoryOptions
            {
                IOQueueCount = transport.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = transport.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = transport.MaxReadBufferSize,
                MaxWriteBufferSize = transport.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = transport.UnsafePreferInlineScheduling,
            },
            loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        try
        {
            // Kestrel owns (and disposes) the listeners it binds.
#pragma warning disable CA2000
            return ValueTask.FromResult<IConnectionListener>(new RelayListener(relay, endpoint, transport, contexts, loggers.CreateLogger<RelayListener>()));
#pragma warning restore CA2000
        }
        catch
        {
            contexts.Dispose();
            throw;
        }
    }
}

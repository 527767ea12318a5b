using System.Net.Sockets;
using Berth.LoadBalancer.Health;
using Yarp.ReverseProxy.Forwarder;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Passive health: a target that refuses a connection, or drops one before its response began (reset, or closed with
/// no response byte), is taken out of rotation at once (until active checks see it healthy again), and a GET or HEAD
/// without a body that failed that way, before any response byte went to the client, is sent once more to another
/// target, as nginx's default <c>proxy_next_upstream error</c> does. Nothing else is retried: a request that reached a
/// target may have had effects, and a response that timed out would double the wait.
/// </summary>
internal sealed partial class PassiveHealthRetry(RequestDelegate next, TargetHealthTable table, TargetAvailability availability, ILogger<PassiveHealthRetry> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is not { Error: ForwarderError.Request } || !FailedBeforeResponse(error.Exception))
        {
            return;
        }

        var feature = context.GetReverseProxyFeature();
        if (feature.ProxiedDestination is not { } failed)
        {
            return;
        }

        var cluster = feature.Cluster.Config.ClusterId;
        if (table.Eject(cluster, failed.DestinationId, $"Connection to the target failed: {error.Exception?.Message}"))
        {
            LogEjected(logger, failed.DestinationId, cluster);
        }

        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || context.Response.HasStarted
            || request.ContentLength > 0
            || request.Headers.TransferEncoding.Count > 0)
        {
            return;
        }

        var others = availability.Available(cluster, feature.AllDestinations).Where(d => d != failed).ToArray();
        if (others.Length == 0)
        {
            return;
        }

        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.StatusCode = StatusCodes.Status200OK;
        feature.AvailableDestinations = others;
        LogRetrying(logger, request.Method, request.Path, failed.DestinationId);
        await RetryAsync(context);
    }

    // The rest of the proxy pipeline again (affinity, load balancing, forwarding) with the failed target left out;
    // the availability step before this middleware is not run again, so the narrowed list stands.
    private Task RetryAsync(HttpContext context) => next(context);

    // ForwarderError.Request means no response headers arrived. Of its causes, these say the target refused or dropped
    // the connection (CI at load saw a busybox target under gVisor close fresh connections without an answer, 3 of 60);
    // a connect that timed out is, a response that timed out or a cancelled client is not.
    private static bool FailedBeforeResponse(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded }
                || e is HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }
                || e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.ConnectionReset or SocketError.TimedOut })
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target} of {TargetGroup} refused or dropped a connection: out of rotation until health checks pass")]
    private static partial void LogEjected(ILogger logger, string target, string targetGroup);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying {Method} {Path} on another target after {Target} refused or dropped the connection")]
    private static partial void LogRetrying(ILogger logger, string method, PathString path, string target);
}

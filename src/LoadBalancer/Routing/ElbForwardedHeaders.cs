using System.Globalization;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Transforms;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// The headers an Application Load Balancer adds to every forwarded request, and only those: <c>X-Forwarded-For</c>
/// (the client's address appended to any value the request carried), <c>X-Forwarded-Proto</c> (<c>http</c> or
/// <c>https</c>, as the client connected) and <c>X-Forwarded-Port</c> (the listener's port), the last two replacing
/// whatever the client sent. Replaces YARP's default forwarders (X-Forwarded-For/Proto/Host/Prefix, four transforms
/// per request, and no port); the port's text comes formatted with the rule.
/// </summary>
internal sealed class ElbForwardedHeaders : RequestTransform
{
    public const string ForHeader = "X-Forwarded-For";
    public const string ProtoHeader = "X-Forwarded-Proto";
    public const string PortHeader = "X-Forwarded-Port";

    public override ValueTask ApplyAsync(RequestTransformContext context)
    {
        var http = context.HttpContext;
        var client = http.Connection.RemoteIpAddress;
        var prior = TakeHeader(context, ForHeader);
        if (client is not null)
        {
            var address = (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client).ToString();
            AddHeader(context, ForHeader, StringValues.IsNullOrEmpty(prior) ? address : $"{prior}, {address}");
        }
        else if (!StringValues.IsNullOrEmpty(prior))
        {
            AddHeader(context, ForHeader, prior);
        }

        TakeHeader(context, ProtoHeader);
        AddHeader(context, ProtoHeader, http.Request.IsHttps ? "https" : "http");
        TakeHeader(context, PortHeader);
        var port = http.GetEndpoint()?.Metadata.GetMetadata<RuleEndpointMetadata>()?.PortText
            ?? http.Connection.LocalPort.ToString(CultureInfo.InvariantCulture);
        AddHeader(context, PortHeader, port);
        return ValueTask.CompletedTask;
    }
}

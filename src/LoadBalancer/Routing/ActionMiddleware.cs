using System.Globalization;
using System.Text;
using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Runs the fixed-response and redirect actions of the matched rule; forward actions go on to the proxy.
/// Sits between routing and the endpoints, where the matched rule is known.
/// </summary>
internal sealed class ActionMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var rule = context.GetEndpoint()?.Metadata.GetMetadata<RuleEndpointMetadata>();
        switch (rule?.Rule.Action)
        {
            case FixedResponseAction fixedResponse:
                context.Response.StatusCode = fixedResponse.StatusCode;
                if (fixedResponse.ContentType is { } contentType)
                {
                    context.Response.ContentType = contentType;
                }

                context.Response.ContentLength = fixedResponse.Body.Length;
                return fixedResponse.Body.Length == 0 ? Task.CompletedTask : context.Response.Body.WriteAsync(fixedResponse.Body).AsTask();
            case RedirectAction redirect:
                context.Response.StatusCode = redirect.StatusCode;
                context.Response.Headers.Location = RedirectLocation(redirect, context.Request);
                return Task.CompletedTask;
            default:
                return next(context);
        }
    }

    /// <summary>ELB's redirect: each part from the action, with <c>#{...}</c> replaced by the request's own part.</summary>
    internal static string RedirectLocation(RedirectAction action, HttpRequest request)
    {
        var requestProtocol = request.IsHttps ? "HTTPS" : "HTTP";
        var requestPort = (request.Host.Port ?? request.HttpContext.Connection.LocalPort).ToString(CultureInfo.InvariantCulture);
        var requestPath = (request.Path.Value ?? "/").TrimStart('/');
        var requestQuery = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        string Expand(string value) => value
            .Replace("#{protocol}", requestProtocol, StringComparison.Ordinal)
            .Replace("#{host}", request.Host.Host, StringComparison.Ordinal)
            .Replace("#{port}", requestPort, StringComparison.Ordinal)
            .Replace("#{path}", requestPath, StringComparison.Ordinal)
            .Replace("#{query}", requestQuery, StringComparison.Ordinal);

        var scheme = Expand(action.Protocol).ToLowerInvariant();
        var port = Expand(action.Port);
        var defaultPort = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
        var location = new StringBuilder()
            .Append(scheme).Append("://").Append(Expand(action.Host));
        if (!defaultPort)
        {
            location.Append(':').Append(port);
        }

        location.Append(Expand(action.Path));
        var query = Expand(action.Query);
        if (query.Length > 0)
        {
            location.Append('?').Append(query);
        }

        return location.ToString();
    }
}

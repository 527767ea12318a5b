using System.Globalization;
using Berth.LoadBalancer.Model;
using Yarp.ReverseProxy;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// A forward to several target groups: each request draws one in proportion to the weights (ELB's weighted target
/// groups), or keeps the one its <c>AWSALBTG</c> cookie names when target-group stickiness is on; then the request
/// is reassigned to that group's cluster.
/// </summary>
internal static class TargetGroupSelection
{
    public const string CookieName = "AWSALBTG";

    public static void Apply(HttpContext context, IProxyStateLookup lookup)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<RuleEndpointMetadata>()?.Rule.Action is not ForwardAction { TargetGroups.Length: > 1 } forward)
        {
            return;
        }

        var chosen = -1;
        if (forward.GroupStickiness is not null
            && context.Request.Cookies.TryGetValue(CookieName, out var cookie)
            && int.TryParse(cookie, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && index < forward.TargetGroups.Length
            && forward.TargetGroups[index].Weight > 0)
        {
            chosen = index;
        }

        if (chosen < 0)
        {
            chosen = Draw(forward);
            if (forward.GroupStickiness is { } duration)
            {
                context.Response.Cookies.Append(CookieName, chosen.ToString(CultureInfo.InvariantCulture),
                    new CookieOptions { MaxAge = duration, HttpOnly = true, Path = "/" });
            }
        }

        var arn = forward.TargetGroups[chosen].TargetGroupArn;
        if (context.GetReverseProxyFeature().Cluster.Config.ClusterId != arn && lookup.TryGetCluster(arn, out var cluster))
        {
            context.ReassignProxyRequest(cluster);
        }
    }

    /// <summary>
    /// The target group a request without stickiness goes to: the only one, or one drawn in proportion to the weights
    /// (the HTTP/1.1 relay draws with this too).
    /// </summary>
    public static int Draw(ForwardAction forward)
    {
        if (forward.TargetGroups.Length == 1)
        {
            return 0;
        }

        var draw = Random.Shared.Next(forward.TotalWeight);
        for (var i = 0; i < forward.TargetGroups.Length; i++)
        {
            draw -= forward.TargetGroups[i].Weight;
            if (draw < 0)
            {
                return i;
            }
        }

        return -1;
    }
}

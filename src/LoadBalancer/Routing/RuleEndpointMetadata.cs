using System.Globalization;
using Berth.LoadBalancer.Model;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// Endpoint metadata of the YARP route made from one ELB rule: the listener port it belongs to and the compiled rule.
/// <see cref="ListenerRuleMatcherPolicy"/> evaluates its conditions; the action middleware runs its action.
/// </summary>
internal sealed record RuleEndpointMetadata(int Port, RuleModel Rule)
{
    /// <summary>The port as text, for <c>X-Forwarded-Port</c> (formatted once, not per request).</summary>
    public string PortText { get; } = Port.ToString(CultureInfo.InvariantCulture);
}

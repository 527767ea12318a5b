using Berth.LoadBalancer.Model;
using Berth.LoadBalancer.State;
using Microsoft.AspNetCore.Routing.Matching;

namespace Berth.LoadBalancer.Routing;

/// <summary>
/// ELB's rule evaluation on top of ASP.NET routing: every rule's route matches any path, and this policy keeps only
/// the rules of the listener the connection arrived on whose conditions all hold. Routing then picks the lowest
/// order among them, which is the lowest priority: exactly ELB's "first matching rule by priority, the default rule
/// last". Non-rule endpoints (the admin page) are kept off listener ports.
/// </summary>
internal sealed class ListenerRuleMatcherPolicy(ConfigStore store) : MatcherPolicy, IEndpointSelectorPolicy
{
    // After the built-in policies (host, method), so candidates they already rejected are not evaluated.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) => true;

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var port = httpContext.Connection.LocalPort;
        var onListener = store.Current?.ListenersByPort.ContainsKey(port) == true;
        var request = new HttpRequestView(httpContext.Request);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }

            var rule = candidates[i].Endpoint.Metadata.GetMetadata<RuleEndpointMetadata>();
            var valid = rule is null ? !onListener : rule.Port == port && rule.Rule.Matches(ref request);
            if (!valid)
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}

namespace Berth.RegistryAdmin;

// The pull-through cache API (PullThroughApiPaths).
public sealed partial class RegistryAdminClient
{
    private static PullThroughJsonContext PullThrough => PullThroughJsonContext.Default;

    /// <summary>Creates a pull-through cache rule (ECR's CreatePullThroughCacheRule).</summary>
    public Task<PullThroughCacheRule> CreatePullThroughCacheRuleAsync(CreatePullThroughCacheRuleRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, PullThroughApiPaths.Rules, request, PullThrough.CreatePullThroughCacheRuleRequest, PullThrough.PullThroughCacheRule, cancellationToken);

    /// <summary>The rules (ECR's DescribePullThroughCacheRules): those named, or all when none is.</summary>
    public Task<DescribePullThroughCacheRulesResponse> DescribePullThroughCacheRulesAsync(IReadOnlyList<string>? prefixes, CancellationToken cancellationToken)
    {
        var query = prefixes is { Count: > 0 } ? "?ecrRepositoryPrefixes=" + Uri.EscapeDataString(string.Join(',', prefixes)) : "";
        return GetAsync(PullThroughApiPaths.Rules + query, PullThrough.DescribePullThroughCacheRulesResponse, cancellationToken);
    }

    /// <summary>Deletes a rule (ECR's DeletePullThroughCacheRule); answers the rule removed. Cached repositories stay.</summary>
    public Task<PullThroughCacheRule> DeletePullThroughCacheRuleAsync(string prefix, CancellationToken cancellationToken) =>
        SendAsync<object, PullThroughCacheRule>(HttpMethod.Delete, PullThroughApiPaths.Rule(prefix), null, null, PullThrough.PullThroughCacheRule, cancellationToken);
}

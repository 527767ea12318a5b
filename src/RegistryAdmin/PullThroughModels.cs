using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.RegistryAdmin;

/// <summary>Paths of the pull-through cache API (ECR's CreatePullThroughCacheRule, DescribePullThroughCacheRules, DeletePullThroughCacheRule).</summary>
public static class PullThroughApiPaths
{
    /// <summary><c>POST</c> creates a rule; <c>GET ?ecrRepositoryPrefixes=a,b</c> describes them (all without the parameter).</summary>
    public const string Rules = AdminApiPaths.Prefix + "/pull-through-cache-rules";

    /// <summary>One rule by its prefix (which may hold '/'): <c>DELETE</c> removes it.</summary>
    public static string Rule(string prefix) => $"{Rules}/{OperationsApiPaths.EscapeName(prefix)}";
}

/// <summary>ECR's CreatePullThroughCacheRule request, with Berth's upstream credentials in place of ECR's Secrets Manager ARN.</summary>
/// <param name="EcrRepositoryPrefix">Repositories named <c>PREFIX/REPO</c> cache <c>REPO</c> of the upstream (2-30 characters).</param>
/// <param name="UpstreamRegistryUrl">The upstream registry: <c>https://host[:port]</c>, <c>http://...</c>, or a bare host name (https).</param>
/// <param name="Username">A user or robot of the upstream; none for anonymous pulls.</param>
/// <param name="Password">Its password or token: stored, never shown again.</param>
public sealed record CreatePullThroughCacheRuleRequest(string? EcrRepositoryPrefix, string? UpstreamRegistryUrl, string? Username = null, string? Password = null);

/// <summary>A rule as the API shows it (ECR's PullThroughCacheRule; the password is never shown).</summary>
/// <param name="EcrRepositoryPrefix">The local prefix.</param>
/// <param name="UpstreamRegistryUrl">The upstream registry's base URL.</param>
/// <param name="CreatedAt">When the rule was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="RegistryId">This registry's id (its host and port as clients reach it).</param>
/// <param name="Username">The upstream user the rule pulls as; null for anonymous.</param>
public sealed record PullThroughCacheRule(
    string EcrRepositoryPrefix, string UpstreamRegistryUrl, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string RegistryId, string? Username);

/// <summary>ECR's DescribePullThroughCacheRules answer.</summary>
/// <param name="PullThroughCacheRules">The rules, by prefix.</param>
public sealed record DescribePullThroughCacheRulesResponse(IReadOnlyList<PullThroughCacheRule> PullThroughCacheRules);

/// <summary>The JSON of the pull-through cache API, generated at compile time (camelCase, web defaults).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreatePullThroughCacheRuleRequest))]
[JsonSerializable(typeof(PullThroughCacheRule))]
[JsonSerializable(typeof(DescribePullThroughCacheRulesResponse))]
[JsonSerializable(typeof(RegistryErrorResponse))]
public sealed partial class PullThroughJsonContext : JsonSerializerContext;

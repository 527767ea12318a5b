namespace Berth.RegistryAdmin;

/// <summary>Paths of the lifecycle policy API.</summary>
public static class LifecycleApiPaths
{
    /// <summary><c>GET</c>, <c>PUT</c>, <c>DELETE</c> a repository's policy (ECR's Get/Put/DeleteLifecyclePolicy).</summary>
    public static string Policy(string repository) => $"{AdminApiPaths.Prefix}/lifecycle-policies/{OperationsApiPaths.EscapeName(repository)}";

    /// <summary><c>POST</c> starts a preview (ECR's StartLifecyclePolicyPreview), <c>GET</c> reads it (GetLifecyclePolicyPreview).</summary>
    public static string Preview(string repository) => $"{AdminApiPaths.Prefix}/lifecycle-previews/{OperationsApiPaths.EscapeName(repository)}";

    /// <summary><c>POST ?repository=</c> applies the policies now; <c>GET ?repository=&amp;n=</c> lists the last runs.</summary>
    public const string Runs = AdminApiPaths.Prefix + "/lifecycle/runs";
}

/// <summary>The body of PutLifecyclePolicy and StartLifecyclePolicyPreview: the policy in ECR's JSON, as a string.</summary>
/// <param name="LifecyclePolicyText">The policy (<c>{"rules": [...]}</c>); a preview without it uses the repository's policy.</param>
public sealed record LifecyclePolicyRequest(string? LifecyclePolicyText);

/// <summary>A repository's lifecycle policy (ECR's GetLifecyclePolicy, PutLifecyclePolicy and DeleteLifecyclePolicy answers).</summary>
/// <param name="RepositoryName">The repository.</param>
/// <param name="LifecyclePolicyText">The policy text, as it was put.</param>
/// <param name="LastEvaluatedAt">When it was last applied; null when never.</param>
public sealed record LifecyclePolicyResponse(string RepositoryName, string LifecyclePolicyText, DateTimeOffset? LastEvaluatedAt = null);

/// <summary>The action a rule takes (ECR: <c>EXPIRE</c>).</summary>
/// <param name="Type">Always <c>EXPIRE</c>.</param>
public sealed record LifecyclePolicyRuleAction(string Type);

/// <summary>One image a preview would expire.</summary>
/// <param name="ImageTags">Its tags.</param>
/// <param name="ImageDigest">Its manifest digest.</param>
/// <param name="ImagePushedAt">When it was pushed.</param>
/// <param name="Action">What would happen to it.</param>
/// <param name="AppliedRulePriority">The rule that expires it.</param>
/// <param name="Reason">Why, in words (Berth's addition to ECR's shape).</param>
public sealed record LifecyclePolicyPreviewResult(
    IReadOnlyList<string> ImageTags,
    string ImageDigest,
    DateTimeOffset ImagePushedAt,
    LifecyclePolicyRuleAction Action,
    int AppliedRulePriority,
    string Reason);

/// <summary>The totals of a preview.</summary>
/// <param name="ExpiringImageTotalCount">How many images would expire.</param>
public sealed record LifecyclePolicyPreviewSummary(int ExpiringImageTotalCount);

/// <summary>A lifecycle policy preview (ECR's StartLifecyclePolicyPreview and GetLifecyclePolicyPreview answers).</summary>
/// <param name="RepositoryName">The repository.</param>
/// <param name="LifecyclePolicyText">The policy evaluated.</param>
/// <param name="Status"><c>COMPLETE</c>: Berth evaluates a preview while answering.</param>
/// <param name="PreviewResults">What would expire, oldest first.</param>
/// <param name="Summary">The totals.</param>
public sealed record LifecyclePolicyPreviewResponse(
    string RepositoryName,
    string LifecyclePolicyText,
    string Status,
    IReadOnlyList<LifecyclePolicyPreviewResult> PreviewResults,
    LifecyclePolicyPreviewSummary Summary);

/// <summary>An image a lifecycle run expired.</summary>
/// <param name="RepositoryName">Its repository.</param>
/// <param name="ImageDigest">Its manifest digest.</param>
/// <param name="ImageTags">The tags it had.</param>
/// <param name="ImagePushedAt">When it was pushed.</param>
/// <param name="AppliedRulePriority">The rule that expired it.</param>
/// <param name="Reason">Why, in words.</param>
/// <param name="ExpiredAt">When.</param>
public sealed record LifecycleExpiration(
    string RepositoryName,
    string ImageDigest,
    IReadOnlyList<string> ImageTags,
    DateTimeOffset ImagePushedAt,
    int AppliedRulePriority,
    string Reason,
    DateTimeOffset ExpiredAt);

/// <summary>One application of the lifecycle policies.</summary>
/// <param name="Id">The run's number.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="Trigger"><c>schedule</c> or <c>manual</c>.</param>
/// <param name="RepositoryName">The one repository a manual run was asked for, else null (every repository with a policy).</param>
/// <param name="RepositoriesEvaluated">Repositories whose policy was applied.</param>
/// <param name="ImagesExpired">Images expired.</param>
/// <param name="Error">Why it stopped early, if it did (the next run goes on).</param>
/// <param name="Expirations">What it expired.</param>
public sealed record LifecycleRunSummary(
    long Id,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    string Trigger,
    string? RepositoryName,
    int RepositoriesEvaluated,
    int ImagesExpired,
    string? Error,
    IReadOnlyList<LifecycleExpiration> Expirations);

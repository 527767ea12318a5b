namespace Berth.Registry.Lifecycle;

/// <summary>A repository's lifecycle policy as stored: its text as it was put, when, and when it was last applied.</summary>
internal sealed record StoredLifecyclePolicy(long RepositoryId, string Repository, string Text, DateTime UpdatedAt, DateTime? EvaluatedAt);

/// <summary>An image a run expired (or a recorded expiration, for the admin API).</summary>
internal sealed record ExpiredImage(string Repository, string Digest, IReadOnlyList<string> Tags, DateTime PushedAt, int RulePriority, string Reason, DateTime ExpiredAt);

/// <summary>One application of the lifecycle policies, with what it expired.</summary>
internal sealed record LifecycleRun(
    long Id,
    DateTime StartedAt,
    DateTime FinishedAt,
    string Trigger,
    string? Repository,
    int RepositoriesEvaluated,
    int ImagesExpired,
    string? Error,
    IReadOnlyList<ExpiredImage> Expirations);

/// <summary>
/// Lifecycle policies and their runs in the metadata database. <see cref="ExpireAsync"/> deletes images in one
/// transaction with their expiration records; its caller holds the registry's write lock, so no push interleaves, and
/// the garbage collector's triggers queue what the deleted manifests referenced.
/// </summary>
internal interface ILifecycleMetadata
{
    /// <summary>The policy of the repository, or null when it has none (or does not exist).</summary>
    Task<StoredLifecyclePolicy?> GetPolicyAsync(string repository, CancellationToken cancellationToken);

    /// <summary>Every repository's policy, in name order.</summary>
    Task<IReadOnlyList<StoredLifecyclePolicy>> ListPoliciesAsync(CancellationToken cancellationToken);

    /// <summary>Stores the policy text (replacing any); false when there is no such repository.</summary>
    Task<bool> PutPolicyAsync(string repository, string text, DateTime now, CancellationToken cancellationToken);

    /// <summary>Removes the policy; the removed one, or null when there was none.</summary>
    Task<StoredLifecyclePolicy?> DeletePolicyAsync(string repository, CancellationToken cancellationToken);

    /// <summary>
    /// The images lifecycle rules look at: the repository's manifests that are neither a child of one of its indexes
    /// nor a referrer of one of its manifests, with their tags, push and last pull times.
    /// </summary>
    Task<IReadOnlyList<LifecycleImage>> ListImagesAsync(long repositoryId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the expired images, each with its tags (a whole image, as ECR expires it), and records them under
    /// <paramref name="runId"/>, in one transaction. An image whose tags changed since it was evaluated, or that an
    /// index or subject pushed since now holds, is left (the next run looks again).
    /// </summary>
    Task<IReadOnlyList<ExpiredImage>> ExpireAsync(long repositoryId, string repository, long runId, IReadOnlyList<LifecycleExpiry> expiries, DateTime now, CancellationToken cancellationToken);

    Task MarkEvaluatedAsync(long repositoryId, DateTime now, CancellationToken cancellationToken);

    /// <summary>Records a run as started (its id names its expirations).</summary>
    Task<long> StartRunAsync(DateTime startedAt, string trigger, string? repository, CancellationToken cancellationToken);

    /// <summary>Records how a run ended, and forgets runs beyond the last <paramref name="keep"/> (with their expirations).</summary>
    Task FinishRunAsync(long runId, DateTime finishedAt, int repositories, int expired, string? error, int keep, CancellationToken cancellationToken);

    /// <summary>The last runs, newest first, with what each expired (only those touching <paramref name="repository"/> when given).</summary>
    Task<IReadOnlyList<LifecycleRun>> ListRunsAsync(int limit, string? repository, CancellationToken cancellationToken);
}

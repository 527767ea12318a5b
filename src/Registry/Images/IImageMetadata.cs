namespace Berth.Registry.Images;

/// <summary>One image (manifest) of a repository with what ECR's DescribeImages shows.</summary>
internal sealed record ImageRecord(
    string Digest,
    IReadOnlyList<string> Tags,
    long Size,
    DateTime PushedAt,
    DateTime? LastPulledAt,
    string MediaType,
    string? ArtifactType);

/// <summary>A pull to record: the manifest by repository id and digest, and when.</summary>
internal readonly record struct PullRecord(long RepositoryId, string Digest, DateTime PulledAt);

/// <summary>Image details (ECR's DescribeImages) and the batched last-pull times.</summary>
internal interface IImageMetadata
{
    /// <summary>The repository's images, newest push first; null when there is no such repository.</summary>
    Task<IReadOnlyList<ImageRecord>?> ListImagesAsync(string repository, CancellationToken cancellationToken);

    /// <summary>Records a batch of pulls in one transaction (a later time wins; deleted manifests are skipped).</summary>
    Task RecordPullsAsync(IReadOnlyCollection<PullRecord> pulls, CancellationToken cancellationToken);
}

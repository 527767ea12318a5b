namespace Berth.Registry.Gc;

/// <summary>A manifest the collector deleted (or would delete).</summary>
internal readonly record struct CollectedManifest(long RepositoryId, string Digest);

/// <summary>A blob the collector deleted (or would delete).</summary>
internal readonly record struct CollectedBlob(string Digest, long Size);

/// <summary>One pass of the collector.</summary>
internal sealed record GcRun(DateTime StartedAt, DateTime FinishedAt, bool DryRun, long ManifestsDeleted, long BlobsDeleted, long BytesDeleted, string? Error);

/// <summary>
/// The collector's view of the metadata: its review queues (filled by triggers in the transaction of each change)
/// and the deletes. Each collect call is one transaction that re-checks, inside it, that what it deletes is still
/// unreferenced; the caller holds the registry's write lock around it, so no push interleaves.
/// </summary>
internal interface IGcMetadata
{
    /// <summary>
    /// Readies the store for one run: a run's reviews are spread over the whole database, so while it lasts the writer
    /// gets a page cache of <paramref name="cacheBytes"/>, reads through a memory map of up to <paramref name="mapBytes"/>
    /// and checkpoints its log every <paramref name="checkpointPages"/> pages. Disposing the result returns the writer to
    /// its usual settings.
    /// </summary>
    Task<IAsyncDisposable> BeginRunAsync(long cacheBytes, long mapBytes, int checkpointPages, CancellationToken cancellationToken);

    /// <summary>
    /// Gives up to <paramref name="limit"/> queued items with no time yet the collector's clock (<paramref name="now"/>),
    /// manifests first, in one transaction; fewer than the limit stamped means none is left.
    /// </summary>
    Task<int> StampAsync(DateTime now, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="limit"/> queued manifests, stamped at or before <paramref name="cutoff"/>, that
    /// are still unreferenced: untagged, not a child of an index of their repository, not a referrer of a manifest
    /// that exists. Queue entries for manifests that turned out referenced are dropped (a new event queues them again).
    /// </summary>
    /// <returns>The deleted manifests and how many queue entries were looked at.</returns>
    Task<(IReadOnlyList<CollectedManifest> Deleted, int Reviewed)> CollectManifestsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> queued blobs no manifest references (rows and links; the caller deletes the bytes).</summary>
    Task<(IReadOnlyList<CollectedBlob> Deleted, int Reviewed)> CollectBlobsAsync(DateTime cutoff, int limit, CancellationToken cancellationToken);

    /// <summary>What a collection at <paramref name="cutoff"/> would delete now (not what deleting it would free next).</summary>
    Task<(IReadOnlyList<CollectedManifest> Manifests, IReadOnlyList<CollectedBlob> Blobs)> PreviewAsync(DateTime cutoff, CancellationToken cancellationToken);

    Task RecordRunAsync(GcRun run, CancellationToken cancellationToken);

    Task<IReadOnlyList<GcRun>> ListRunsAsync(int limit, CancellationToken cancellationToken);
}

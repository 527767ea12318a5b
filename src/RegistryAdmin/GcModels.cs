namespace Berth.RegistryAdmin;

/// <summary>One garbage collection run.</summary>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="DryRun">Whether it only reported what it would delete.</param>
/// <param name="ManifestsDeleted">Manifests deleted (or that would be).</param>
/// <param name="BlobsDeleted">Blobs deleted (or that would be).</param>
/// <param name="BytesDeleted">Their bytes.</param>
/// <param name="Error">Why it stopped early, if it did (the next run goes on).</param>
public sealed record GcRunSummary(DateTimeOffset StartedAt, DateTimeOffset FinishedAt, bool DryRun, long ManifestsDeleted, long BlobsDeleted, long BytesDeleted, string? Error);

/// <summary>A blob a run deleted or would delete.</summary>
/// <param name="Digest">Its digest.</param>
/// <param name="Size">Its bytes.</param>
public sealed record GcBlob(string Digest, long Size);

/// <summary>The answer to <c>POST /gc/runs</c>: the run and what it deleted (or with a dry run, would delete).</summary>
/// <param name="Run">The run.</param>
/// <param name="Manifests">Digests of the manifests.</param>
/// <param name="Blobs">The blobs.</param>
public sealed record GcRunReport(GcRunSummary Run, IReadOnlyList<string> Manifests, IReadOnlyList<GcBlob> Blobs);

namespace Berth.Registry.Storage;

/// <summary>A stored manifest as the in-memory index holds it.</summary>
internal sealed record ManifestRecord(
    long Id,
    string Digest,
    string MediaType,
    string? ArtifactType,
    string? SubjectDigest,
    byte[] Content,
    DateTime CreatedAt);

/// <summary>A manifest to store, with what it references (checked by the caller before the write).</summary>
internal sealed record NewManifest(
    string Digest,
    string MediaType,
    string? ArtifactType,
    string? SubjectDigest,
    byte[] Content,
    IReadOnlyList<string> BlobDigests,
    IReadOnlyList<string> ChildDigests);

internal sealed record UploadRecord(string Id, string Repository, string Algorithm, DateTime CreatedAt);

internal sealed record RepositorySnapshot(
    long Id,
    string Name,
    IReadOnlyList<string> BlobLinks,
    IReadOnlyList<ManifestRecord> Manifests,
    IReadOnlyList<KeyValuePair<string, long>> Tags);

/// <summary>Everything the in-memory index needs at start.</summary>
internal sealed record MetadataSnapshot(
    IReadOnlyList<RepositorySnapshot> Repositories,
    IReadOnlyList<KeyValuePair<string, long>> Blobs,
    IReadOnlyList<UploadRecord> Uploads);

/// <summary>
/// Registry metadata: repositories, blob links, manifests with their references, tags, upload sessions.
/// Every method is one transaction. Reads on the hot paths never come here: <see cref="RegistryStore"/> keeps an
/// index in memory, loaded once and updated after each committed write. SQLite today; PostgreSQL can follow.
/// </summary>
internal interface IMetadataStore
{
    /// <summary>Creates or migrates the schema.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<MetadataSnapshot> LoadAsync(CancellationToken cancellationToken);

    Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken);

    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Records a blob (once, globally), links it into <paramref name="repository"/>, ends the upload.</summary>
    /// <returns>The repository's id.</returns>
    Task<long> LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken);

    Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken);

    /// <summary>Stores a manifest (or keeps the existing one with that digest) and points <paramref name="tags"/> at it.</summary>
    /// <returns>The repository's id and the manifest's record.</returns>
    Task<(long RepositoryId, ManifestRecord Manifest)> PutManifestAsync(string repository, NewManifest manifest, IReadOnlyList<string> tags, CancellationToken cancellationToken);

    Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken);

    /// <summary>Deletes a manifest, its references and every tag that points at it.</summary>
    Task<bool> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken);
}

namespace Berth.Registry.Storage;

/// <summary>A manifest to store, with what it references (checked by the caller before the write).</summary>
internal sealed record NewManifest(
    string Digest,
    string MediaType,
    string? ArtifactType,
    string? SubjectDigest,
    byte[] Content,
    IReadOnlyList<string> BlobDigests,
    IReadOnlyList<string> ChildDigests);

/// <summary>
/// A manifest as stored: when the digest was already in the repository, the stored one is kept (its media type
/// included) and only the tags move.
/// </summary>
internal sealed record StoredManifest(long RepositoryId, string Digest, string MediaType, int Size);

/// <summary>
/// An upload in progress. Every upload has one, written before its first byte: recovery after a crash reads these
/// instead of listing the blob store (an object store cannot be listed like a directory). <see cref="Monolithic"/>
/// marks an upload that lives within one request (POST ?digest= with the body): after a restart nobody can resume
/// it, so recovery removes it.
/// </summary>
internal sealed record UploadRecord(string Id, string Repository, string Algorithm, DateTime CreatedAt, bool Monolithic = false);

/// <summary>A manifest whose <c>subject</c> is a given digest (the referrers API).</summary>
internal sealed record ReferrerRecord(string Digest, string MediaType, string? ArtifactType, byte[] Content);

/// <summary>Receives, at start, what the in-memory index holds (<see cref="IMetadataStore.LoadIndexAsync"/>).</summary>
internal interface IIndexBuilder
{
    /// <summary>
    /// Before the rows: how many of each will follow (counted in the load's own read transaction), so the tables are
    /// sized once instead of rehashed at every doubling.
    /// </summary>
    void Reserve(int repositories, int manifests, int tags);

    void AddRepository(long id, string name);

    /// <returns>A handle for <see cref="AddTag"/>.</returns>
    int AddManifest(long repositoryId, string digest, string mediaType, long size);

    void AddTag(long repositoryId, string name, int manifest);
}

/// <summary>
/// Registry metadata: repositories, blobs and their links, manifests (bodies included) with their references, tags,
/// upload records. Every write is one transaction. The hot reads never come here for what the in-memory index has
/// (<see cref="RegistryStore"/>); blob lookups and manifest bodies do, on a cache miss. SQLite today; PostgreSQL can
/// follow, held to the same behaviour by the shared test suite (tests/Registry.Tests/Storage/MetadataStoreBehaviour).
/// </summary>
internal interface IMetadataStore
{
    /// <summary>Creates or migrates the schema.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Streams repositories, manifests (without bodies) and tags into <paramref name="index"/>, from one consistent state.</summary>
    Task LoadIndexAsync(IIndexBuilder index, CancellationToken cancellationToken);

    Task<IReadOnlyList<UploadRecord>> ListUploadsAsync(CancellationToken cancellationToken);

    Task CreateUploadAsync(UploadRecord upload, CancellationToken cancellationToken);

    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Records a blob (once, globally), links it into <paramref name="repository"/>, ends the upload.</summary>
    /// <returns>The repository's id.</returns>
    Task<long> LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken);

    Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken);

    /// <summary>The size of blob <paramref name="digest"/> if the repository links it, else null.</summary>
    Task<long?> GetLinkedBlobSizeAsync(long repositoryId, string digest, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="digests"/> the repository links, with their sizes.</summary>
    Task<IReadOnlyDictionary<string, long>> GetLinkedBlobSizesAsync(string repository, IReadOnlyCollection<string> digests, CancellationToken cancellationToken);

    /// <summary>Repositories that link blob <paramref name="digest"/>, by name, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> ListRepositoriesLinkingAsync(string digest, int limit, CancellationToken cancellationToken);

    /// <summary>Stores a manifest (or keeps the existing one with that digest) and points <paramref name="tags"/> at it.</summary>
    Task<StoredManifest> PutManifestAsync(string repository, NewManifest manifest, IReadOnlyList<string> tags, CancellationToken cancellationToken);

    /// <summary>The body of manifest <paramref name="digest"/> of the repository, or null.</summary>
    Task<byte[]?> GetManifestContentAsync(long repositoryId, string digest, CancellationToken cancellationToken);

    /// <summary>Manifests of the repository whose subject is <paramref name="subject"/>, by digest.</summary>
    Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(long repositoryId, string subject, string? artifactType, CancellationToken cancellationToken);

    Task<bool> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken);

    /// <summary>Deletes a manifest, its references and every tag that points at it.</summary>
    /// <returns>The tags that pointed at it, or null when there was no such manifest.</returns>
    Task<IReadOnlyList<string>?> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken);

    /// <summary>Tag names of the repository after <paramref name="last"/> (ordinal order), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> ListTagsAsync(long repositoryId, string? last, int limit, CancellationToken cancellationToken);

    /// <summary>Repository names after <paramref name="last"/> (ordinal order), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken);
}

using Berth.Registry.Storage.Caching;
using Berth.Registry.Storage.Index;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Storage;

/// <summary>
/// The registry's metadata as the endpoints see it. In memory: the <see cref="ManifestIndex"/> (repositories,
/// manifests without bodies, tags: everything HEAD and GET of a manifest answer with, for every manifest), a bounded
/// cache of manifest bodies and a bounded cache of blobs with their repository links. Everything else, and every
/// cache miss, is read from <see cref="IMetadataStore"/>. Writes go to the metadata store first and into the index
/// and caches only after the transaction committed; they are serialized (SQLite has one writer anyway), so the index
/// always equals the database plus nothing uncommitted.
/// </summary>
internal sealed class RegistryStore : IDisposable
{
    private readonly IMetadataStore _metadata;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ManifestIndex _index = new();
    private readonly BoundedCache<CachedManifest> _manifests;

    // A body enters the cache on its second miss: a pull of something popular repeats, a crawl over a million
    // manifests does not, and caching what is read once only churns the cache (and the GC's older generations).
    private readonly SecondSight _admission = new();
    private readonly BoundedCache<BlobInfo> _blobs;

    // A blob read from the database goes into the cache only if no unlink committed meanwhile: otherwise a reader
    // that read "linked" just before an unlink could put the link back after the unlink removed it.
    private readonly Lock _blobGate = new();
    private long _unlinks;

    private readonly IBlobStore _blobStore;

    public RegistryStore(IMetadataStore metadata, IBlobStore blobStore, IOptions<RegistryOptions> options)
    {
        _metadata = metadata;
        _blobStore = blobStore;
        _manifests = new BoundedCache<CachedManifest>(options.Value.ManifestCacheBytes, static m => m.Cost);
        _blobs = new BoundedCache<BlobInfo>(options.Value.BlobCacheEntries, static _ => 1);
    }

    public void Dispose() => _writeLock.Dispose();

    public IMetadataStore Metadata => _metadata;

    public IndexStatistics Statistics => _index.Statistics;

    public async Task<IndexStatistics> LoadAsync(CancellationToken cancellationToken)
    {
        await _metadata.InitializeAsync(cancellationToken);
        await _metadata.LoadIndexAsync(new IndexBuilder(_index), cancellationToken);
        return _index.Statistics;
    }

    public bool TryGetRepository(ReadOnlySpan<char> name, out int id) => _index.TryGetRepository(name, out id);

    /// <summary>The manifest a tag or digest (already validated) names, from the index: no I/O.</summary>
    public bool TryGetManifest(int repository, ReadOnlySpan<char> reference, out IndexedManifest manifest) =>
        reference.Contains(':') ? _index.TryGetByDigest(repository, reference, out manifest) : _index.TryGetByTag(repository, reference, out manifest);

    /// <summary>The body of an indexed manifest: from the cache (no allocation), else from the metadata store.</summary>
    public ValueTask<CachedManifest?> GetManifestBodyAsync(in IndexedManifest manifest, CancellationToken cancellationToken)
    {
        Span<char> digest = stackalloc char[manifest.DigestLength];
        manifest.FormatDigest(digest);
        return _manifests.TryGet(digest, out var cached)
            ? new ValueTask<CachedManifest?>(cached)
            : LoadManifestBodyAsync(manifest.RepositoryId, digest.ToString(), manifest.Size, cancellationToken);
    }

    /// <summary>The cached body of a manifest, if it is cached (HEAD takes its header strings from there).</summary>
    public CachedManifest? CachedManifestBody(in IndexedManifest manifest)
    {
        Span<char> digest = stackalloc char[manifest.DigestLength];
        manifest.FormatDigest(digest);
        return _manifests.TryGet(digest, out var cached) ? cached : null;
    }

    /// <summary>Blob <paramref name="digest"/> if the repository links it: from the cache, else the metadata store.</summary>
    public ValueTask<BlobInfo?> GetLinkedBlobAsync(int repository, ReadOnlySpan<char> digest, CancellationToken cancellationToken) =>
        _blobs.TryGet(digest, out var blob) && blob.IsLinkedTo(repository)
            ? new ValueTask<BlobInfo?>(blob)
            : LoadBlobAsync(repository, digest.ToString(), cancellationToken);

    public ValueTask<BlobInfo?> GetLinkedBlobAsync(ReadOnlySpan<char> repository, ReadOnlySpan<char> digest, CancellationToken cancellationToken) =>
        TryGetRepository(repository, out var id) ? GetLinkedBlobAsync(id, digest, cancellationToken) : default;

    public Task<IReadOnlyList<string>> ListRepositoriesLinkingAsync(string digest, int limit, CancellationToken cancellationToken) =>
        _metadata.ListRepositoriesLinkingAsync(digest, limit, cancellationToken);

    public Task<IReadOnlyList<ReferrerRecord>> ListReferrersAsync(int repository, string subject, string? artifactType, CancellationToken cancellationToken) =>
        _metadata.ListReferrersAsync(repository, subject, artifactType, cancellationToken);

    public Task<IReadOnlyList<string>> ListTagsAsync(int repository, string? last, int limit, CancellationToken cancellationToken) =>
        _metadata.ListTagsAsync(repository, last, limit, cancellationToken);

    public Task<IReadOnlyList<string>> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken) =>
        _metadata.ListRepositoriesAsync(last, limit, cancellationToken);

    public async Task LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            // The garbage collector deletes blob bytes under this lock. An upload that found the bytes stored (and
            // kept them) just before the collector deleted them must not link a blob that is gone: it fails here and
            // the client uploads again. One open per upload or mount, never on a pull.
            await using (var bytes = await _blobStore.OpenReadAsync(digest, CancellationToken.None))
            {
                if (bytes is null)
                {
                    throw new Errors.RegistryException(
                        StatusCodes.Status404NotFound,
                        Errors.ErrorCodes.BlobUnknown,
                        "blob unknown to registry",
                        $"{digest} was garbage-collected while this upload committed it; upload it again");
                }
            }

            var id = IndexId(await _metadata.LinkBlobAsync(repository, digest, size, uploadId, CancellationToken.None));
            EnsureRepository(id, repository);
            lock (_blobGate)
            {
                // A pushed blob is usually asked for right away (docker HEADs every layer after its PUT).
                if (!_blobs.TryGet(digest, out var blob))
                {
                    blob = new BlobInfo(digest, size);
                    _blobs.Set(digest, blob);
                }

                blob.AddLink(id);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> UnlinkBlobAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var removed = await _metadata.UnlinkBlobAsync(repository, digest, CancellationToken.None);
            lock (_blobGate)
            {
                _unlinks++;
                if (TryGetRepository(repository, out var id) && _blobs.TryGet(digest, out var blob))
                {
                    blob.RemoveLink(id);
                }
            }

            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <param name="validate">
    /// Runs under the write lock, before the transaction, with what the manifest references as stored now: the
    /// reference check, so that no concurrent blob or manifest delete slips in between.
    /// </param>
    public async Task<StoredManifest> PutManifestAsync(
        string repository, NewManifest manifest, IReadOnlyList<string> tags, Action<ManifestReferences> validate, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var known = TryGetRepository(repository, out var current);
            var blobs = known && manifest.BlobDigests.Count > 0
                ? await _metadata.GetLinkedBlobSizesAsync(repository, manifest.BlobDigests, CancellationToken.None)
                : new Dictionary<string, long>();
            validate(new ManifestReferences(_index, known ? current : 0, blobs));

            // A sparse manifest (accepted by option) may name blobs that are not here: reference rows point at stored
            // blobs only. Without the option the check above has refused any such manifest.
            if (blobs.Count < manifest.BlobDigests.Count)
            {
                manifest = manifest with { BlobDigests = [.. manifest.BlobDigests.Where(blobs.ContainsKey)] };
            }

            var stored = await _metadata.PutManifestAsync(repository, manifest, tags, CancellationToken.None);
            var id = IndexId(stored.RepositoryId);
            EnsureRepository(id, repository);
            _index.PutManifest(id, stored.Digest, stored.MediaType, stored.Size, tags);
            return stored;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> DeleteTagAsync(int repository, string repositoryName, string tag, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var removed = await _metadata.DeleteTagAsync(repositoryName, tag, CancellationToken.None);
            _index.RemoveTag(repository, tag);
            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> DeleteManifestAsync(int repository, string repositoryName, string digest, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var tags = await _metadata.DeleteManifestAsync(repositoryName, digest, CancellationToken.None);
            if (tags is null)
            {
                return false;
            }

            _index.RemoveManifest(repository, digest, tags);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> under the write lock: for writes made elsewhere (repositories, the garbage
    /// collector, lifecycle policies) that must not interleave with pushes and deletes, and then tell the index
    /// (<see cref="IndexRepository"/>, <see cref="ForgetRepository"/>, <see cref="ForgetManifest(int, string)"/>, <see cref="ForgetBlob"/>).
    /// </summary>
    public async Task<T> ExclusiveAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            return await write();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Under <see cref="ExclusiveAsync"/>: a repository created in the database.</summary>
    public void IndexRepository(long id, string name) => EnsureRepository(IndexId(id), name);

    /// <summary>Under <see cref="ExclusiveAsync"/>: a repository deleted from the database, with the manifests and tags it had.</summary>
    public void ForgetRepository(string name, IEnumerable<Repositories.RemovedManifest> manifests)
    {
        if (!TryGetRepository(name, out var id))
        {
            return;
        }

        foreach (var manifest in manifests)
        {
            _index.RemoveManifest(id, manifest.Digest, manifest.Tags);
        }

        _index.RemoveRepository(name);
        lock (_blobGate)
        {
            // Cached blobs may still list the repository's id; ids are never reused (AUTOINCREMENT), but a reader that
            // raced the delete must not put a link back.
            _unlinks++;
        }
    }

    /// <summary>Under <see cref="ExclusiveAsync"/>: an untagged manifest deleted from the database.</summary>
    public void ForgetManifest(int repository, string digest) => _index.RemoveManifest(repository, digest, []);

    /// <summary>Under <see cref="ExclusiveAsync"/>: a manifest deleted from the database with the tags that pointed at it.</summary>
    public void ForgetManifest(int repository, string digest, IReadOnlyList<string> tags) => _index.RemoveManifest(repository, digest, tags);

    /// <summary>Under <see cref="ExclusiveAsync"/>: a blob deleted from the database (every link with it).</summary>
    public void ForgetBlob(string digest)
    {
        lock (_blobGate)
        {
            _unlinks++;
            _blobs.Remove(digest);
        }
    }

    private async ValueTask<CachedManifest?> LoadManifestBodyAsync(int repository, string digest, int size, CancellationToken cancellationToken)
    {
        var content = await _metadata.GetManifestContentAsync(repository, digest, cancellationToken);
        if (content is null || content.Length != size)
        {
            // Deleted since the index lookup.
            return null;
        }

        var cached = new CachedManifest(digest, content);
        if (_admission.SeenBefore(digest))
        {
            _manifests.Set(digest, cached);
        }

        return cached;
    }

    private async ValueTask<BlobInfo?> LoadBlobAsync(int repository, string digest, CancellationToken cancellationToken)
    {
        var unlinks = Volatile.Read(ref _unlinks);
        if (await _metadata.GetLinkedBlobSizeAsync(repository, digest, cancellationToken) is not { } size)
        {
            return null;
        }

        lock (_blobGate)
        {
            var stale = unlinks != _unlinks;
            if (!_blobs.TryGet(digest, out var blob))
            {
                blob = new BlobInfo(digest, size);
                if (stale)
                {
                    return blob;
                }

                _blobs.Set(digest, blob);
            }

            if (!stale)
            {
                blob.AddLink(repository);
            }

            return blob;
        }
    }

    private void EnsureRepository(int id, string name)
    {
        if (!TryGetRepository(name, out _))
        {
            _index.AddRepository(id, name);
        }
    }

    private static int IndexId(long id) =>
        id is > 0 and <= int.MaxValue ? (int)id : throw new InvalidOperationException($"repository id {id} is beyond what the index holds");

    private sealed class IndexBuilder(ManifestIndex index) : IIndexBuilder
    {
        public void Reserve(int repositories, int manifests, int tags) => index.Reserve(repositories, manifests, tags);

        public void AddRepository(long id, string name) => index.AddRepository(IndexId(id), name);

        public int AddManifest(long repositoryId, string digest, string mediaType, long size) =>
            index.LoadManifest(IndexId(repositoryId), digest, mediaType, (int)size);

        public void AddTag(long repositoryId, string name, int manifest) => index.LoadTag(IndexId(repositoryId), name, manifest);
    }
}

/// <summary>What a manifest's references point at as stored now, for the checks of a manifest PUT.</summary>
internal readonly struct ManifestReferences(ManifestIndex index, int repository, IReadOnlyDictionary<string, long> blobs)
{
    /// <summary>The size of a blob the repository links (among the manifest's config and layers).</summary>
    public bool TryGetBlobSize(string digest, out long size) => blobs.TryGetValue(digest, out size);

    /// <summary>A manifest of the repository (an index's children).</summary>
    public bool TryGetManifest(string digest, out IndexedManifest manifest)
    {
        manifest = default;
        return repository != 0 && index.TryGetByDigest(repository, digest, out manifest);
    }
}

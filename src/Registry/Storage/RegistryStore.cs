using System.Collections.Concurrent;

namespace Berth.Registry.Storage;

/// <summary>
/// The registry's metadata as the endpoints see it: reads from an in-memory index (loaded once at start), writes
/// through <see cref="IMetadataStore"/> first and into the index only after the transaction committed. Writes are
/// serialized (SQLite has one writer anyway), so the index always equals the database plus nothing uncommitted.
/// </summary>
internal sealed class RegistryStore : IDisposable
{
    private readonly IMetadataStore _metadata;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<string, RepositoryState> _repositories = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BlobInfo> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RepositoryState>.AlternateLookup<ReadOnlySpan<char>> _repositoriesBySpan;
    private readonly ConcurrentDictionary<string, BlobInfo>.AlternateLookup<ReadOnlySpan<char>> _blobsBySpan;

    public RegistryStore(IMetadataStore metadata)
    {
        _metadata = metadata;
        _repositoriesBySpan = _repositories.GetAlternateLookup<ReadOnlySpan<char>>();
        _blobsBySpan = _blobs.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public void Dispose() => _writeLock.Dispose();

    public IMetadataStore Metadata => _metadata;

    public async Task<MetadataSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await _metadata.InitializeAsync(cancellationToken);
        var snapshot = await _metadata.LoadAsync(cancellationToken);
        foreach (var (digest, size) in snapshot.Blobs)
        {
            _blobs[digest] = new BlobInfo(digest, size);
        }

        foreach (var repository in snapshot.Repositories)
        {
            var state = new RepositoryState(repository.Id, repository.Name);
            foreach (var digest in repository.BlobLinks)
            {
                state.BlobLinks[digest] = 0;
            }

            var byId = new Dictionary<long, ManifestEntry>();
            foreach (var manifest in repository.Manifests)
            {
                var entry = new ManifestEntry(manifest);
                state.Manifests[entry.Digest] = entry;
                byId[entry.Id] = entry;
            }

            foreach (var (tag, manifestId) in repository.Tags)
            {
                state.Tags[tag] = byId[manifestId];
            }

            _repositories[repository.Name] = state;
        }

        return snapshot;
    }

    public bool TryGetRepository(ReadOnlySpan<char> name, out RepositoryState repository) =>
        _repositoriesBySpan.TryGetValue(name, out repository!);

    public IEnumerable<RepositoryState> Repositories => _repositories.Values;

    /// <summary>The blob <paramref name="digest"/> if it is readable through <paramref name="repository"/>.</summary>
    public bool TryGetLinkedBlob(RepositoryState repository, ReadOnlySpan<char> digest, out BlobInfo blob)
    {
        blob = null!;
        return repository.BlobLinksBySpan.ContainsKey(digest) && _blobsBySpan.TryGetValue(digest, out blob!);
    }

    public async Task LinkBlobAsync(string repository, string digest, long size, string? uploadId, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var id = await _metadata.LinkBlobAsync(repository, digest, size, uploadId, CancellationToken.None);
            _blobs.TryAdd(digest, new BlobInfo(digest, size));
            GetOrAdd(id, repository).BlobLinks[digest] = 0;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> UnlinkBlobAsync(RepositoryState repository, string digest, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var removed = await _metadata.UnlinkBlobAsync(repository.Name, digest, CancellationToken.None);
            repository.BlobLinks.TryRemove(digest, out _);
            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <param name="validate">
    /// Runs under the write lock, before the transaction, with the repository's current state (null when it does
    /// not exist yet): the reference check, so that no concurrent blob or manifest delete slips in between.
    /// </param>
    public async Task<ManifestEntry> PutManifestAsync(
        string repository, NewManifest manifest, IReadOnlyList<string> tags, Action<RepositoryState?> validate, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            _repositories.TryGetValue(repository, out var current);
            validate(current);
            var (id, record) = await _metadata.PutManifestAsync(repository, manifest, tags, CancellationToken.None);
            var state = GetOrAdd(id, repository);
            var entry = state.Manifests.TryGetValue(record.Digest, out var existing) && existing.Id == record.Id ? existing : new ManifestEntry(record);
            state.Manifests[entry.Digest] = entry;
            foreach (var tag in tags)
            {
                state.Tags[tag] = entry;
            }

            return entry;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> DeleteTagAsync(RepositoryState repository, string tag, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var removed = await _metadata.DeleteTagAsync(repository.Name, tag, CancellationToken.None);
            repository.Tags.TryRemove(tag, out _);
            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<bool> DeleteManifestAsync(RepositoryState repository, string digest, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var removed = await _metadata.DeleteManifestAsync(repository.Name, digest, CancellationToken.None);
            if (repository.Manifests.TryRemove(digest, out var entry))
            {
                foreach (var (tag, target) in repository.Tags)
                {
                    if (ReferenceEquals(target, entry))
                    {
                        repository.Tags.TryRemove(tag, out _);
                    }
                }
            }

            return removed;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private RepositoryState GetOrAdd(long id, string name) =>
        _repositories.TryGetValue(name, out var state) ? state : _repositories.GetOrAdd(name, new RepositoryState(id, name));
}

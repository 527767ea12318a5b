using System.Collections.Concurrent;

namespace Berth.Registry.Storage;

/// <summary>
/// A stored manifest in memory, with the header values precomputed so that serving it allocates nothing.
/// Immutable: a change replaces the entry.
/// </summary>
internal sealed class ManifestEntry(ManifestRecord record)
{
    public long Id { get; } = record.Id;

    public string Digest { get; } = record.Digest;

    public string MediaType { get; } = record.MediaType;

    public string? ArtifactType { get; } = record.ArtifactType;

    public string? SubjectDigest { get; } = record.SubjectDigest;

    public byte[] Content { get; } = record.Content;

    public string ETag { get; } = $"\"{record.Digest}\"";

    public DateTime CreatedAt { get; } = record.CreatedAt;
}

/// <summary>
/// One repository's part of the in-memory index: linked blobs, manifests by digest, tags. Readers look up by
/// spans of the request path (alternate lookups), so a hot read allocates no key.
/// </summary>
internal sealed class RepositoryState
{
    public RepositoryState(long id, string name)
    {
        Id = id;
        Name = name;
        BlobLinksBySpan = BlobLinks.GetAlternateLookup<ReadOnlySpan<char>>();
        ManifestsBySpan = Manifests.GetAlternateLookup<ReadOnlySpan<char>>();
        TagsBySpan = Tags.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public long Id { get; }

    public string Name { get; }

    public ConcurrentDictionary<string, byte> BlobLinks { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, ManifestEntry> Manifests { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, ManifestEntry> Tags { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> BlobLinksBySpan { get; }

    public ConcurrentDictionary<string, ManifestEntry>.AlternateLookup<ReadOnlySpan<char>> ManifestsBySpan { get; }

    public ConcurrentDictionary<string, ManifestEntry>.AlternateLookup<ReadOnlySpan<char>> TagsBySpan { get; }
}

/// <summary>A blob of the global store, with its header values precomputed.</summary>
internal sealed class BlobInfo(string digest, long size)
{
    public string Digest { get; } = digest;

    public long Size { get; } = size;

    public string ETag { get; } = $"\"{digest}\"";
}

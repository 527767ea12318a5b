namespace Berth.Registry.Storage.Sqlite;

// The metadata schema. Designed for what comes next: online GC asks "which blobs does no manifest reference and
// no repository link" (indexes on ManifestBlobs.Digest and RepositoryBlobs.Digest), quotas sum Blobs.Size over a
// repository's links, retention walks Tags/Manifests by time.

internal sealed class RepositoryEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>One content-addressed blob of the global store (one row per digest, whatever links to it).</summary>
internal sealed class BlobEntity
{
    public required string Digest { get; set; }

    public long Size { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>A repository's link to a global blob: what makes the blob readable through that repository.</summary>
internal sealed class RepositoryBlobEntity
{
    public long RepositoryId { get; set; }

    public required string Digest { get; set; }

    public DateTime CreatedAt { get; set; }
}

internal sealed class ManifestEntity
{
    public long Id { get; set; }

    public long RepositoryId { get; set; }

    public required string Digest { get; set; }

    public required string MediaType { get; set; }

    public string? ArtifactType { get; set; }

    /// <summary>The digest of the manifest's <c>subject</c>: what the referrers API looks up.</summary>
    public string? SubjectDigest { get; set; }

    public long Size { get; set; }

    public required byte[] Content { get; set; }

    public DateTime CreatedAt { get; set; }
}

internal sealed class TagEntity
{
    public long RepositoryId { get; set; }

    public required string Name { get; set; }

    public long ManifestId { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>manifest -> blob (config and layers): what keeps a blob alive for GC.</summary>
internal sealed class ManifestBlobEntity
{
    public long ManifestId { get; set; }

    public required string Digest { get; set; }
}

/// <summary>manifest -> child manifest (index entries).</summary>
internal sealed class ManifestChildEntity
{
    public long ManifestId { get; set; }

    public required string ChildDigest { get; set; }
}

/// <summary>
/// An upload in progress, written before its first byte (so recovery after a crash never lists the blob store).
/// The bytes live in the blob store (<c>uploads/&lt;id&gt;</c> on the filesystem); their length is the upload's
/// offset (bytes are only ever appended in order), so a PATCH costs no database write.
/// </summary>
internal sealed class UploadSessionEntity
{
    public required string Id { get; set; }

    public required string Repository { get; set; }

    public required string Algorithm { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>An upload within one request (POST ?digest=): nobody can resume it after a restart.</summary>
    public bool Monolithic { get; set; }
}

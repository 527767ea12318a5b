using System.IO.Pipelines;
using System.Security.Cryptography;
using Berth.Core.Images;

namespace Berth.Registry.Storage;

/// <summary>
/// Where an upload stands: bytes written so far and the hash of exactly those bytes. The hash stays in memory
/// between the PATCHes of one upload, so nothing is read twice; only after a restart is it rebuilt from the file.
/// </summary>
internal sealed class UploadCursor(string algorithm)
{
    public string Algorithm { get; private set; } = algorithm;

    public IncrementalHash Hash { get; private set; } = Digest.CreateHash(algorithm);

    public long Offset { get; set; }

    /// <summary>Starts over with another algorithm (the caller then rehashes the bytes already stored).</summary>
    public void Reset(string algorithm)
    {
        Hash.Dispose();
        Algorithm = algorithm;
        Hash = Digest.CreateHash(algorithm);
        Offset = 0;
    }
}

/// <summary>What the blob store holds of an upload: its bytes so far and when they were last written.</summary>
internal sealed record UploadStatus(long Length, DateTimeOffset LastWrite);

/// <summary>
/// Blob bytes: uploads in progress and the content-addressed store. The filesystem today; an S3-compatible store can
/// follow (it would serve by redirect where <see cref="TryGetLocalPath"/> says no). Nothing here lists anything:
/// which uploads exist is the metadata store's record (<see cref="UploadRecord"/>, written before an upload's first
/// byte), so an object store that cannot list like a directory implements this as it is. Every implementation runs
/// the shared behaviour suite (tests/Registry.Tests/Storage/BlobStoreBehaviour).
/// </summary>
internal interface IBlobStore
{
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Creates the empty upload <paramref name="uploadId"/> (32 lower-case hex characters).</summary>
    Task CreateUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>What is stored of the upload, or null when it does not exist (committed, deleted or never created).</summary>
    Task<UploadStatus?> GetUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="body"/> at <see cref="UploadCursor.Offset"/>, hashing in the same pass. The cursor
    /// moves after every write, so after a failure (a full disk, a client gone) it still describes exactly what is
    /// stored, and the upload can go on from there.
    /// </summary>
    Task AppendAsync(string uploadId, UploadCursor cursor, PipeReader body, CancellationToken cancellationToken);

    /// <summary>Rebuilds the cursor from the upload's stored bytes (after a restart, or for another algorithm).</summary>
    Task RehashAsync(string uploadId, UploadCursor cursor, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of the upload the blob <paramref name="digest"/>, durably and
    /// atomically (a reader sees all of it or nothing), and ends the upload. The caller has verified the digest.
    /// Committing an upload whose blob already exists keeps the stored blob; committing again an upload that was
    /// committed (the caller failed after the commit) succeeds.
    /// </summary>
    Task CommitAsync(string uploadId, long length, Digest digest, CancellationToken cancellationToken);

    /// <summary>Removes the upload and its bytes; nothing when it does not exist.</summary>
    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the blob's bytes (the garbage collector, once no metadata names it); nothing when they are not there.
    /// A reader that opened the blob before keeps reading all of it (on the filesystem the bytes live until it closes).
    /// </summary>
    Task DeleteBlobAsync(string digest, CancellationToken cancellationToken);

    /// <summary>The blob's bytes, or null when the store does not have it.</summary>
    Task<Stream?> OpenReadAsync(string digest, CancellationToken cancellationToken);

    /// <summary>A local file with the blob's bytes, for zero-copy serving.</summary>
    bool TryGetLocalPath(string digest, out string path);
}

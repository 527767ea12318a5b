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

/// <summary>
/// Blob bytes: uploads in progress and the content-addressed store. Filesystem today; an S3-compatible store can
/// follow (it would serve by redirect where <see cref="TryGetLocalPath"/> says no).
/// </summary>
internal interface IBlobStore
{
    void Initialize();

    /// <summary>Creates the empty file of a new upload.</summary>
    void CreateUpload(string uploadId);

    bool UploadExists(string uploadId);

    /// <summary>When the upload's bytes were last written, if it exists.</summary>
    DateTime? UploadLastWrite(string uploadId);

    /// <summary>
    /// Appends <paramref name="body"/> at <see cref="UploadCursor.Offset"/>, hashing in the same pass. The cursor
    /// moves after every write, so after a failure it still describes exactly what is stored.
    /// </summary>
    Task AppendAsync(string uploadId, UploadCursor cursor, PipeReader body, CancellationToken cancellationToken);

    /// <summary>Rebuilds the cursor from the upload's file (after a restart, or for another algorithm).</summary>
    Task RehashAsync(string uploadId, UploadCursor cursor, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of the upload the blob <paramref name="digest"/>: fsync, then
    /// an atomic rename into the store. The caller has verified the digest.
    /// </summary>
    Task CommitAsync(string uploadId, long length, Digest digest, CancellationToken cancellationToken);

    void DeleteUpload(string uploadId);

    /// <summary>A local file with the blob's bytes, for zero-copy serving.</summary>
    bool TryGetLocalPath(string digest, out string path);
}

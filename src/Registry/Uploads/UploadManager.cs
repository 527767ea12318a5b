using System.Collections.Concurrent;
using System.IO.Pipelines;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Storage;

namespace Berth.Registry.Uploads;

/// <summary>
/// Uploads: each created with a metadata record before its bytes (so a restart finds every one without listing the
/// blob store), fed by streamed appends that hash in the same pass, and committed by verify -> the blob store's
/// durable commit -> one metadata transaction (blob row, link, end of the record).
/// </summary>
internal sealed partial class UploadManager(RegistryStore store, IBlobStore blobs, TimeProvider time, ILogger<UploadManager> logger)
{
    private readonly ConcurrentDictionary<string, UploadSession> _sessions = new(StringComparer.Ordinal);

    // Open sessions per owner: one client must not be able to fill the disk and the table with abandoned uploads.
    private readonly Dictionary<string, int> _openByOwner = new(StringComparer.Ordinal);

    /// <summary>
    /// Restores the sessions of a previous run from their records (the blob store is never listed); their hashes are
    /// rebuilt lazily from the stored bytes. Records whose bytes are gone (killed between the commit and its metadata
    /// transaction: the client never saw a 201) and monolithic uploads cut off by the restart are removed.
    /// </summary>
    public async Task RestoreAsync(IReadOnlyList<UploadRecord> uploads, CancellationToken cancellationToken)
    {
        foreach (var upload in uploads)
        {
            var status = upload.Monolithic ? null : await blobs.GetUploadAsync(upload.Id, cancellationToken);
            if (status is null)
            {
                await blobs.DeleteUploadAsync(upload.Id, cancellationToken);
                await store.Metadata.DeleteUploadAsync(upload.Id, cancellationToken);
                LogInterruptedRemoved(logger, upload.Id);
                continue;
            }

            var created = new DateTimeOffset(upload.CreatedAt, TimeSpan.Zero);
            _sessions[upload.Id] = new UploadSession(upload.Id, upload.Repository, upload.Algorithm, resumable: true)
            {
                LastActivity = status.LastWrite > created ? status.LastWrite : created,
            };
        }

        LogRestored(logger, _sessions.Count);
    }

    /// <summary>
    /// Starts an upload: its record first, then its (empty) bytes, so that whatever a crash leaves in the blob store
    /// has a record to find it by. A <paramref name="resumable"/> upload is a session clients address by id; the other
    /// kind lives within one request (monolithic POST).
    /// </summary>
    public async Task<UploadSession> StartAsync(string repository, string algorithm, bool resumable, CancellationToken cancellationToken, string? owner = null, int maxPerOwner = int.MaxValue)
    {
        var id = Guid.NewGuid().ToString("N");
        var session = new UploadSession(id, repository, algorithm, resumable) { Cursor = new UploadCursor(algorithm), LastActivity = time.GetUtcNow(), Owner = resumable ? owner : null };
        if (session.Owner is not null)
        {
            Reserve(session.Owner, maxPerOwner);
        }

        try
        {
            await store.Metadata.CreateUploadAsync(new UploadRecord(id, repository, algorithm, time.GetUtcNow().UtcDateTime, Monolithic: !resumable), cancellationToken);
            try
            {
                await blobs.CreateUploadAsync(id, CancellationToken.None);
            }
            catch
            {
                await store.Metadata.DeleteUploadAsync(id, CancellationToken.None);
                throw;
            }

            if (resumable)
            {
                _sessions[id] = session;
                LogStarted(logger, id, repository);
            }
        }
        catch
        {
            Release(session.Owner);
            throw;
        }

        return session;
    }

    private void Reserve(string owner, int maxPerOwner)
    {
        lock (_openByOwner)
        {
            var open = _openByOwner.GetValueOrDefault(owner);
            if (open >= maxPerOwner)
            {
                throw new RegistryException(StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyRequests, "too many open upload sessions", $"at most {maxPerOwner} per client; finish or cancel some")
                {
                    Headers = [new("Retry-After", "60")],
                };
            }

            _openByOwner[owner] = open + 1;
        }
    }

    private void Release(string? owner)
    {
        if (owner is null)
        {
            return;
        }

        lock (_openByOwner)
        {
            var open = _openByOwner.GetValueOrDefault(owner) - 1;
            if (open <= 0)
            {
                _openByOwner.Remove(owner);
            }
            else
            {
                _openByOwner[owner] = open;
            }
        }
    }

    /// <summary>Finds the session <paramref name="id"/> of <paramref name="repository"/>, or throws BLOB_UPLOAD_UNKNOWN.</summary>
    public UploadSession Get(ReadOnlySpan<char> repository, string id)
    {
        if (!IsValidId(id) || !_sessions.TryGetValue(id, out var session) || !repository.SequenceEqual(session.Repository))
        {
            throw RegistryException.UploadUnknown(id);
        }

        return session;
    }

    /// <summary>Takes the session's gate; the caller releases it.</summary>
    public async Task<UploadCursor> EnterAsync(UploadSession session, CancellationToken cancellationToken)
    {
        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            if (session.Closed)
            {
                throw RegistryException.UploadUnknown(session.Id);
            }

            session.LastActivity = time.GetUtcNow();
            if (session.Cursor is null)
            {
                var cursor = new UploadCursor(session.Algorithm);
                await blobs.RehashAsync(session.Id, cursor, cancellationToken);
                session.Cursor = cursor;
                LogResumed(logger, session.Id, cursor.Offset);
            }

            return session.Cursor;
        }
        catch
        {
            session.Gate.Release();
            throw;
        }
    }

    public Task AppendAsync(UploadSession session, UploadCursor cursor, PipeReader body, CancellationToken cancellationToken) =>
        blobs.AppendAsync(session.Id, cursor, body, cancellationToken);

    /// <summary>
    /// Verifies the uploaded bytes against <paramref name="expected"/> and makes them that blob, linked into the
    /// session's repository. On a mismatch the upload is discarded and nothing is stored.
    /// </summary>
    public async Task<long> CompleteAsync(UploadSession session, UploadCursor cursor, Digest expected, CancellationToken cancellationToken)
    {
        if (cursor.Algorithm != expected.Algorithm)
        {
            // The client streamed without telling us the algorithm: hash the stored bytes again with the right one.
            cursor.Reset(expected.Algorithm);
            await blobs.RehashAsync(session.Id, cursor, cancellationToken);
        }

        var actual = Digest.FromHash(cursor.Algorithm, cursor.Hash.GetCurrentHash());
        if (actual != expected)
        {
            LogDigestMismatch(logger, session.Id, expected.ToString(), actual.ToString());
            await CancelAsync(session, CancellationToken.None);
            throw RegistryException.DigestInvalid($"expected {expected}, content has {actual}");
        }

        var digest = expected.ToString();
        await blobs.CommitAsync(session.Id, cursor.Offset, expected, CancellationToken.None);
        await store.LinkBlobAsync(session.Repository, digest, cursor.Offset, session.Id, CancellationToken.None);
        Close(session);
        LogCommitted(logger, digest, cursor.Offset, session.Repository);
        return cursor.Offset;
    }

    public async Task CancelAsync(UploadSession session, CancellationToken cancellationToken)
    {
        // Bytes first, record second: a crash in between leaves a record without bytes, which recovery removes.
        await blobs.DeleteUploadAsync(session.Id, cancellationToken);
        await store.Metadata.DeleteUploadAsync(session.Id, cancellationToken);
        Close(session);
    }

    /// <summary>Removes uploads nobody has worked on for <paramref name="timeout"/>; busy ones are left alone.</summary>
    public async Task<int> ExpireAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() - timeout;
        var expired = 0;
        foreach (var session in _sessions.Values)
        {
            if (session.LastActivity > deadline || !await session.Gate.WaitAsync(0, cancellationToken))
            {
                continue;
            }

            try
            {
                if (!session.Closed && session.LastActivity <= deadline)
                {
                    await CancelAsync(session, cancellationToken);
                    LogExpired(logger, session.Id, session.Repository);
                    expired++;
                }
            }
            finally
            {
                session.Gate.Release();
            }
        }

        return expired;
    }

    private void Close(UploadSession session)
    {
        session.Closed = true;
        session.Cursor?.Hash.Dispose();
        if (_sessions.TryRemove(session.Id, out _))
        {
            Release(session.Owner);
        }
    }

    private static bool IsValidId(string id)
    {
        if (id.Length != 32)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

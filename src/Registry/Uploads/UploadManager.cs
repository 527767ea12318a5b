using System.Collections.Concurrent;
using System.IO.Pipelines;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Storage;

namespace Berth.Registry.Uploads;

/// <summary>
/// Upload sessions: created with a database row (so they survive a restart), fed by streamed appends that hash
/// in the same pass, and committed by verify -> fsync -> rename -> one metadata transaction.
/// </summary>
internal sealed partial class UploadManager(RegistryStore store, IBlobStore blobs, TimeProvider time, ILogger<UploadManager> logger)
{
    private readonly ConcurrentDictionary<string, UploadSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Restores the sessions of a previous run; their hashes are rebuilt lazily from the files.</summary>
    public async Task RestoreAsync(IReadOnlyList<UploadRecord> uploads, string uploadsDirectory, CancellationToken cancellationToken)
    {
        foreach (var upload in uploads)
        {
            if (blobs.UploadExists(upload.Id))
            {
                _sessions[upload.Id] = new UploadSession(upload.Id, upload.Repository, upload.Algorithm, persisted: true)
                {
                    LastActivity = blobs.UploadLastWrite(upload.Id) is { } written && written > upload.CreatedAt ? written : new DateTimeOffset(upload.CreatedAt, TimeSpan.Zero),
                };
            }
            else
            {
                // Committed (file renamed) but killed before the metadata transaction: the client never saw a 201.
                await store.Metadata.DeleteUploadAsync(upload.Id, cancellationToken);
            }
        }

        // Files of monolithic uploads (no row) interrupted by a crash.
        foreach (var file in Directory.EnumerateFiles(uploadsDirectory))
        {
            var id = Path.GetFileName(file);
            if (!_sessions.ContainsKey(id))
            {
                LogOrphanRemoved(logger, id);
                blobs.DeleteUpload(id);
            }
        }

        LogRestored(logger, _sessions.Count);
    }

    public async Task<UploadSession> StartAsync(string repository, string algorithm, bool persisted, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var session = new UploadSession(id, repository, algorithm, persisted) { Cursor = new UploadCursor(algorithm), LastActivity = time.GetUtcNow() };
        blobs.CreateUpload(id);
        if (persisted)
        {
            await store.Metadata.CreateUploadAsync(new UploadRecord(id, repository, algorithm, time.GetUtcNow().UtcDateTime), cancellationToken);
            _sessions[id] = session;
            LogStarted(logger, id, repository);
        }

        return session;
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
        await store.LinkBlobAsync(session.Repository, digest, cursor.Offset, session.Persisted ? session.Id : null, CancellationToken.None);
        Close(session);
        LogCommitted(logger, digest, cursor.Offset, session.Repository);
        return cursor.Offset;
    }

    public async Task CancelAsync(UploadSession session, CancellationToken cancellationToken)
    {
        blobs.DeleteUpload(session.Id);
        if (session.Persisted)
        {
            await store.Metadata.DeleteUploadAsync(session.Id, cancellationToken);
        }

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
        _sessions.TryRemove(session.Id, out _);
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

using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using Berth.Core.Images;
using Berth.Registry.Http;

namespace Berth.Registry.Storage;

/// <summary>
/// Content in <see cref="RegistryDataDirectory.Blobs"/> by digest, uploads in progress in
/// <see cref="RegistryDataDirectory.Uploads"/> (same filesystem, so the final rename is atomic). A blob file only
/// ever appears by rename of a fsynced upload whose digest was verified; both are owner-only (0600 in 0700 directories).
/// The uploads directory is never listed: the metadata store records every upload before its file exists.
/// </summary>
internal sealed partial class FileSystemBlobStore(RegistryDataDirectory layout) : IBlobStore
{
    private const int BufferSize = 256 * 1024;

    private static readonly FileStreamOptions s_newUpload = NewUploadOptions();

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        // RegistryDataDirectory.Open made both directories; a missing one here (removed while stopped) is remade private.
        Core.IO.PrivateDirectory.Ensure(layout.Blobs);
        Core.IO.PrivateDirectory.Ensure(layout.Uploads);
        return Task.CompletedTask;
    }

    public Task CreateUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        // 0600 from the start: the blob is this file, renamed.
        using var file = new FileStream(UploadPath(uploadId), s_newUpload);
        return Task.CompletedTask;
    }

    public Task<UploadStatus?> GetUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        var file = new FileInfo(UploadPath(uploadId));
        return Task.FromResult(file.Exists ? new UploadStatus(file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)) : null);
    }

    // The body is written from Kestrel's own buffers with one pwritev(2) per ~64 KiB gathered in the request pipe:
    // no copy into a buffer of ours, and no array of ours held per concurrent upload.
    public async Task AppendAsync(string uploadId, UploadCursor cursor, PipeReader body, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(UploadPath(uploadId), FileMode.Open, FileAccess.Write, FileShare.Read);
        var segments = new List<ReadOnlyMemory<byte>>(64);
        while (true)
        {
            var result = await body.ReadAtLeastAsync(BodyBuffering.UploadGather, cancellationToken);
            var sequence = result.Buffer;
            if (!sequence.IsEmpty)
            {
                segments.Clear();
                foreach (var segment in sequence)
                {
                    segments.Add(segment);
                }

                await RandomAccess.WriteAsync(handle, segments, cursor.Offset, cancellationToken);
                foreach (var segment in segments)
                {
                    cursor.Hash.AppendData(segment.Span);
                }

                cursor.Offset += sequence.Length;
            }

            body.AdvanceTo(sequence.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }
    }

    public async Task RehashAsync(string uploadId, UploadCursor cursor, CancellationToken cancellationToken)
    {
        cursor.Reset(cursor.Algorithm);
        using var handle = File.OpenHandle(UploadPath(uploadId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long offset = 0;
            int read;
            while ((read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, BufferSize), offset, cancellationToken)) > 0)
            {
                cursor.Hash.AppendData(buffer, 0, read);
                offset += read;
            }

            cursor.Offset = offset;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task CommitAsync(string uploadId, long length, Digest digest, CancellationToken cancellationToken)
    {
        var source = UploadPath(uploadId);
        var target = BlobPath(digest.Algorithm, digest.Hex);
        if (!File.Exists(source) && File.Exists(target))
        {
            // Committed before, and the caller failed after that (its metadata write, say): nothing left to do.
            return Task.CompletedTask;
        }

        using (var handle = File.OpenHandle(source, FileMode.Open, FileAccess.ReadWrite))
        {
            // A write that failed half-way may have left bytes past the hashed length.
            if (RandomAccess.GetLength(handle) != length)
            {
                RandomAccess.SetLength(handle, length);
            }

            using var stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
            stream.Flush(flushToDisk: true);
        }

        var directory = Path.GetDirectoryName(target)!;
        if (File.Exists(target))
        {
            // Content-addressed: the same digest is the same bytes, already durable.
            File.Delete(source);
            return Task.CompletedTask;
        }

        if (!OperatingSystem.IsWindows())
        {
            // The mode applies to the last directory only: blobs/<algorithm> first, then blobs/<algorithm>/<xx>.
            Directory.CreateDirectory(Path.GetDirectoryName(directory)!, Core.IO.PrivateDirectory.DirectoryMode);
            Directory.CreateDirectory(directory, Core.IO.PrivateDirectory.DirectoryMode);
        }
        else
        {
            Directory.CreateDirectory(directory);
        }

        File.Move(source, target, overwrite: true);
        SyncDirectory(directory);
        return Task.CompletedTask;
    }

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        File.Delete(UploadPath(uploadId));
        return Task.CompletedTask;
    }

    public Task<Stream?> OpenReadAsync(string digest, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult<Stream?>(new FileStream(PathOf(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1, FileOptions.SequentialScan));
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task DeleteBlobAsync(string digest, CancellationToken cancellationToken)
    {
        try
        {
            // unlink(2): a pull that has the file open keeps its inode, and so every byte, until it closes it.
            File.Delete(PathOf(digest));
        }
        catch (DirectoryNotFoundException)
        {
            // Never stored under this prefix: nothing to delete.
        }

        return Task.CompletedTask;
    }

    public bool TryGetLocalPath(string digest, out string path)
    {
        path = PathOf(digest);
        return true;
    }

    private string PathOf(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        return BlobPath(digest[..colon], digest[(colon + 1)..]);
    }

    private string BlobPath(string algorithm, string hex) => layout.Blob(algorithm, hex);

    // Upload ids are 32 lower-case hex characters, checked by the router before they reach a path.
    private string UploadPath(string uploadId) => layout.Upload(uploadId);

    private static FileStreamOptions NewUploadOptions()
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = Core.IO.PrivateDirectory.FileMode;
        }

        return options;
    }

    // rename(2) is atomic, but durable only once the directory entry is on disk.
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Native.Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }

        _ = Native.Fsync(fd);
        _ = Native.Close(fd);
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync")]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}

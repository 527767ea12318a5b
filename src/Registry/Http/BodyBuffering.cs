namespace Berth.Registry.Http;

/// <summary>
/// How much of a request or response body the registry holds in memory per connection. Kestrel's buffers come from a
/// pinned block pool that keeps its high-water mark, so these sizes times the connection count stay in RSS: with the
/// defaults (1 MiB read ahead per connection) 16 pushing connections left 22 MiB on the pinned object heap; at these
/// sizes, 8 MiB (docs/benchmarks.md). Each is still large enough that a syscall moves tens of KiB.
/// </summary>
internal static class BodyBuffering
{
    /// <summary>What Kestrel's socket transport may read ahead of the registry on one connection.</summary>
    public const int ReadAhead = 128 * 1024;

    /// <summary>Upload bytes gathered from the request pipe per pwritev(2).</summary>
    public const int UploadGather = 64 * 1024;

    /// <summary>
    /// Blob bytes read per pread(2) into the response pipe, at most. A pooled large-object array each (ArrayPool keeps
    /// them); with 64 KiB reads and Kestrel's default 64 KiB response buffer a 100 MiB pull went in lock-step, one
    /// read, one send, one wait for the socket, and cost ~40% more CPU per byte than distribution's sendfile(2).
    /// </summary>
    public const int DownloadRead = 256 * 1024;

    /// <summary>
    /// What a response may have queued for the socket before the registry's writes wait (Kestrel's
    /// MaxResponseBufferSize, 64 KiB by default): room for two reads in flight while the socket sends, so reading and
    /// sending overlap. Bounds the memory a slow reader can pin: ~768 KiB per downloading connection.
    /// </summary>
    public const int ResponseBuffer = 512 * 1024;
}

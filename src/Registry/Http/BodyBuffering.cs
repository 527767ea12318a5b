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

    /// <summary>Blob bytes read per pread(2) into the response pipe (over 85 KiB would be a large-object array each).</summary>
    public const int DownloadRead = 64 * 1024;
}

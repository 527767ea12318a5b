namespace Berth.Registry.Storage.Caching;

/// <summary>
/// A manifest body with its header values precomputed, so that serving it from the cache allocates nothing. Keyed
/// by digest: the same digest is the same bytes in every repository, so an entry never goes stale (a deleted
/// manifest is no longer in the index and is never looked up; its entry ages out).
/// </summary>
internal sealed class CachedManifest(string digest, byte[] content)
{
    // Two strings of ~71 characters, the entry and the dictionary node, roughly.
    private const int Overhead = 480;

    public string Digest { get; } = digest;

    public string ETag { get; } = $"\"{digest}\"";

    public byte[] Content { get; } = content;

    public long Cost => Content.Length + Overhead;
}

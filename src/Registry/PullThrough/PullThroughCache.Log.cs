namespace Berth.Registry.PullThrough;

internal sealed partial class PullThroughCache
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Cached manifest {Repository}:{Reference} ({Digest}) from {Upstream}")]
        public static partial void ManifestCached(ILogger logger, string repository, string reference, string digest, string upstream);

        [LoggerMessage(2, LogLevel.Information, "Cached blob {Repository}@{Digest} ({Bytes} bytes) from {Upstream}")]
        public static partial void BlobCached(ILogger logger, string repository, string digest, long bytes, string upstream);

        [LoggerMessage(3, LogLevel.Debug, "Tag {Repository}:{Tag} checked upstream: {Outcome}")]
        public static partial void TagChecked(ILogger logger, string repository, string tag, string outcome);

        [LoggerMessage(4, LogLevel.Information, "Tag {Repository}:{Tag} moved upstream from {Cached} to {Upstream}; fetching it")]
        public static partial void TagMoved(ILogger logger, string repository, string tag, string cached, string upstream);

        [LoggerMessage(5, LogLevel.Warning, "The upstream of {Repository}:{Reference} failed ({Reason}); serving the cached image")]
        public static partial void UpstreamDownServingCache(ILogger logger, string repository, string reference, string reason);

        [LoggerMessage(6, LogLevel.Warning, "The upstream of {Repository} sent content that does not match {Digest}: {Detail}; nothing was stored")]
        public static partial void DigestMismatch(ILogger logger, string repository, string digest, string detail);

        [LoggerMessage(7, LogLevel.Warning, "Fetching blob {Repository}@{Digest} from the upstream failed: {Reason}")]
        public static partial void FetchFailed(ILogger logger, string repository, string digest, string reason);

        [LoggerMessage(8, LogLevel.Debug, "Blob {Repository}@{Digest} is being fetched by another pull; waiting for it")]
        public static partial void WaitingForFetch(ILogger logger, string repository, string digest);
    }
}

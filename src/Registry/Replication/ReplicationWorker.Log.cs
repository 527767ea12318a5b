namespace Berth.Registry.Replication;

internal sealed partial class ReplicationWorker
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "Recorded {Count} pushes to replicate")]
        public static partial void Recorded(ILogger logger, int count);

        [LoggerMessage(2, LogLevel.Information, "Replicated {Repository}@{Digest} to {Destination}")]
        public static partial void Replicated(ILogger logger, string repository, string digest, string destination);

        [LoggerMessage(3, LogLevel.Warning, "Replicating {Repository}@{Digest} to {Destination} failed: {Reason}; next attempt at {Next}")]
        public static partial void Failed(ILogger logger, string repository, string digest, string destination, string reason, DateTimeOffset? next);
    }
}

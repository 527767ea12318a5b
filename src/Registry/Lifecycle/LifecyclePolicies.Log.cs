namespace Berth.Registry.Lifecycle;

internal sealed partial class LifecyclePolicies
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Lifecycle policies of {Repositories} repositories applied: {Expired} images expired")]
    private static partial void LogRun(ILogger logger, int repositories, int expired);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lifecycle rule {Priority} expired {Digest} ({Tags}) in {Repository}: {Reason}")]
    private static partial void LogExpired(ILogger logger, string repository, string digest, string tags, int priority, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored lifecycle policy of {Repository} no longer parses and is skipped: {Problem}")]
    private static partial void LogBadPolicy(ILogger logger, string repository, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Applying lifecycle policies stopped early; the next run goes on")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}

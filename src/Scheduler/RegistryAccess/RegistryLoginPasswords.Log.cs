namespace Berth.Scheduler.RegistryAccess;

internal sealed partial class RegistryLoginPasswords
{
    [LoggerMessage(1, LogLevel.Information, "Registry login password for {Username} obtained; it expires at {ExpiresAt:O}")]
    private static partial void LogIssued(ILogger logger, string username, DateTimeOffset expiresAt);

    [LoggerMessage(2, LogLevel.Warning, "Could not get a registry login password from {Url}: {Reason}; retrying in {Seconds} s")]
    private static partial void LogFailed(ILogger logger, Uri url, string reason, double seconds);
}

namespace Berth.Scheduler.State.Persistence;

internal sealed partial class SqliteSchedulerStore
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Committing {Count} change sets to the database failed; none was acknowledged")]
        public static partial void CommitFailed(ILogger logger, int count, Exception exception);
    }
}

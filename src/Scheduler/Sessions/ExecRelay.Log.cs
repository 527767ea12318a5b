namespace Berth.Scheduler.Sessions;

internal sealed partial class ExecRelay
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Exec session {SessionId}: the caller did not keep up ({Frames} frames waiting); the session ends")]
        public static partial void CallerTooSlow(ILogger logger, string sessionId, int frames);
    }
}

namespace Berth.Registry.Routing;

internal sealed partial class RegistryDispatcher
{
    [LoggerMessage(1, LogLevel.Information, "Bad request {Method} {Path}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string method, PathString path, string reason);

    [LoggerMessage(2, LogLevel.Debug, "Client went away during {Method} {Path}")]
    private static partial void LogAborted(ILogger logger, string method, PathString path);

    [LoggerMessage(3, LogLevel.Error, "Storage full: {Method} {Path} answered 507 ({Reason})")]
    private static partial void LogStorageFull(ILogger logger, string method, PathString path, string reason);
}

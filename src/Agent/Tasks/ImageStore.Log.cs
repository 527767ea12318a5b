namespace Berth.Agent.Tasks;

internal sealed partial class ImageStore
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled {Image}")]
    private static partial void LogPulled(ILogger logger, string image);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pulling {Image} failed ({Error}); using the cached image")]
    private static partial void LogPullFellBack(ILogger logger, string image, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not save image usage to the state dir: {Error}")]
    private static partial void LogStateNotSaved(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pulling {Image} failed ({Failures} in a row); no new pull for {Seconds:0.0} s: {Error}")]
    private static partial void LogPullBackingOff(ILogger logger, string image, int failures, double seconds, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pulling {Image}: {Layer} {Status}")]
    private static partial void LogPullProgress(ILogger logger, string image, string layer, string status);
}

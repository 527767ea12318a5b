namespace Berth.Registry;

internal sealed partial class RegistryStartup
{
    [LoggerMessage(1, LogLevel.Information, "Registry data in {DataDir}: {Repositories} repositories, {Blobs} blobs")]
    private static partial void LogStarted(ILogger logger, string dataDir, int repositories, int blobs);
}

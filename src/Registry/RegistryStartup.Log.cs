namespace Berth.Registry;

internal sealed partial class RegistryStartup
{
    [LoggerMessage(1, LogLevel.Information, "Registry data in {DataDir}: {Repositories} repositories, {Manifests} manifests, {Tags} tags indexed in {IndexMiB} MiB in {Seconds:F1} s ({CpuSeconds:F1} s of CPU)")]
    private static partial void LogStarted(ILogger logger, string dataDir, int repositories, int manifests, int tags, long indexMiB, double seconds, double cpuSeconds);
}

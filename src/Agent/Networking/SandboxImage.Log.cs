namespace Berth.Agent.Networking;

internal sealed partial class SandboxImage
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox image {Image} built from {Busybox}")]
    private static partial void LogBuilt(ILogger logger, string image, string busybox);
}

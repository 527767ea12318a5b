namespace Berth.Agent.Networking;

internal sealed partial class Firewall
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Firewall rules applied ({Lines} lines)")]
    private static partial void LogApplied(ILogger logger, int lines);

    [LoggerMessage(Level = LogLevel.Information, Message = "iptables: {Table} {Chain} jumps to {Target}")]
    private static partial void LogJumpInserted(ILogger logger, string table, string chain, string target);
}

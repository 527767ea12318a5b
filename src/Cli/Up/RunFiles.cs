using System.Globalization;
using System.Text.Json;
using Berth.Core.IO;

namespace Berth.Cli.Up;

/// <summary>What a running <c>berth up</c> says about itself once it is ready.</summary>
/// <param name="FargateLab">The FARGATE pool's lab id; null when the pool is off (not root, <c>--no-fargate</c>).</param>
/// <param name="FargateNet">That lab's network, <c>10.231.NET.0/24</c>.</param>
/// <param name="FargateScripts">Where its scripts are (lab/down.sh).</param>
/// <param name="FargateOff">Why the pool is off, when it is.</param>
internal sealed record PlatformInfo(int Pid, string Registry, string Scheduler, string Cluster, bool Agent, DateTimeOffset StartedAt, double ReadySeconds,
    string? FargateLab = null, int? FargateNet = null, string? FargateScripts = null, string? FargateOff = null);

/// <summary>
/// <c>&lt;data-dir&gt;/run/</c>: the PID files of a running <c>berth up</c> (<c>up.pid</c>) and of its parts
/// (<c>registry.pid</c>, <c>scheduler.pid</c>, <c>agent.pid</c>, <c>balancer.pid</c>), and <c>platform.json</c> once it is ready. They let
/// <c>berth status</c> and <c>berth down</c> find a platform started in the background, and a second <c>berth up</c> on
/// the same data directory refuse to start. A PID is only believed when the process still runs and is a Berth process
/// (a reused PID after a crash is not).
/// </summary>
internal sealed class RunFiles(string dataDirectory)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly string[] s_pidNames = ["up", "registry", "scheduler", "agent", "balancer"];

    public string Directory => Path.Combine(dataDirectory, "run");

    public string UpLog => Path.Combine(dataDirectory, "logs", "up.log");

    private string PlatformFile => Path.Combine(Directory, "platform.json");

    public void WritePid(string name, int pid) => OwnerOnlyFile.WriteAtomic(PidFile(name), pid.ToString(CultureInfo.InvariantCulture) + "\n", durable: false);

    public void WritePlatform(PlatformInfo info) => OwnerOnlyFile.WriteAtomic(PlatformFile, JsonSerializer.SerializeToUtf8Bytes(info, s_json), durable: false);

    /// <summary>The PID in <c>NAME.pid</c> when that process runs and is Berth's; null otherwise.</summary>
    public int? LivePid(string name)
    {
        try
        {
            return int.TryParse(File.ReadAllText(PidFile(name)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsBerthProcess(pid) ? pid : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The ready platform's description, when its <c>berth up</c> still runs.</summary>
    public PlatformInfo? Platform()
    {
        try
        {
            var info = JsonSerializer.Deserialize<PlatformInfo>(File.ReadAllBytes(PlatformFile), s_json);
            return info is not null && LivePid("up") == info.Pid ? info : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Removes the files (a clean stop).</summary>
    public void Clear()
    {
        foreach (var file in s_pidNames.Select(PidFile).Append(PlatformFile))
        {
            File.Delete(file);
        }
    }

    private string PidFile(string name) => Path.Combine(Directory, name + ".pid");

    // /proc/PID/cmdline is NUL-separated argv: `dotnet .../berth.dll up` or `dotnet .../Berth.Scheduler.dll ...`.
    public static bool IsBerthProcess(int pid)
    {
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("berth.dll", StringComparison.Ordinal) || cmdline.Contains("Berth.", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>Formats how long ago something started, as people say it.</summary>
internal static class Ages
{
    public static string Since(DateTimeOffset start, DateTimeOffset now)
    {
        var age = now - start;
        return age.TotalMinutes < 1 ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours}h{age.Minutes:00}m"
            : $"{(int)age.TotalDays}d{age.Hours:00}h";
    }
}

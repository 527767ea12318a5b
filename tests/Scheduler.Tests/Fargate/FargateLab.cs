using Berth.Scheduler.V1;
using Berth.TestSupport;

namespace Berth.Scheduler.Tests.Fargate;

/// <summary>What the FARGATE pool's lab tests share: a pool that reacts within seconds, a task's address, the docker CLI.</summary>
internal static class FargateLab
{
    /// <summary>Scheduler settings for the pool: a capacity pass every 2 s, a spare host retired after 5 s, at most two hosts.</summary>
    public static Dictionary<string, string> PoolSettings() => new()
    {
        ["CapacityProviders:Interval"] = "00:00:02",
        ["FargatePool:IdleTimeout"] = "00:00:05",
        ["FargatePool:MaxHosts"] = "2",
    };

    /// <summary>An awsvpc task's own address (empty until its attachment has one).</summary>
    public static string Address(TaskInfo task) =>
        task.Attachments.SelectMany(a => a.Details).FirstOrDefault(d => d.Name == "privateIPv4Address")?.Value ?? "";

    /// <summary>The docker CLI (<c>-H</c> first for a lab host's own engine), given two minutes.</summary>
    public static Task<ProcessResult> DockerAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("docker", arguments, TimeSpan.FromSeconds(120));
}

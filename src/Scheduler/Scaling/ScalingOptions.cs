using System.ComponentModel.DataAnnotations;

namespace Berth.Scheduler.Scaling;

/// <summary>The <c>Scheduler:Scaling</c> configuration section: the service auto scaling pass.</summary>
internal sealed class ScalingOptions
{
    public const string Section = "Scheduler:Scaling";

    /// <summary>How often every scalable target is looked at (Application Auto Scaling evaluates its alarms each minute).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A task's sample older than this no longer counts (its agent went quiet); two passes by default, so a pass always
    /// sees the samples of the interval before it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SampleMaxAge { get; set; } = TimeSpan.FromMinutes(2);
}

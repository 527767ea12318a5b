namespace Berth.Scheduler.HostGroups;

/// <summary>The <c>HostGroups</c> section: how often the reconciler looks, and where the hosts it makes reach the scheduler.</summary>
internal sealed class HostGroupOptions
{
    public const string Section = "HostGroups";

    /// <summary>The reconciler's pass interval (it also runs at once after every change of a group).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The scheduler's gRPC address as the hosts reach it; when unset, the first address the scheduler listens on (fine
    /// for the lab, whose hosts reach the root leg; a VM needs the address it routes to).
    /// </summary>
    public Uri? SchedulerUrl { get; set; }
}

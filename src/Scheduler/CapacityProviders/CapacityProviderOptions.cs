namespace Berth.Scheduler.CapacityProviders;

/// <summary>The <c>CapacityProviders</c> section: how long tasks wait for capacity, and how managed scaling paces itself.</summary>
internal sealed class CapacityProviderOptions
{
    public const string Section = "CapacityProviders";

    /// <summary>
    /// How often the capacity provider pass runs when nothing wakes it (it also runs after every committed change, so a
    /// host that registers or a task that stops frees capacity for waiting tasks at once). ECS publishes
    /// CapacityProviderReservation once a minute; Berth looks more often, like the host group reconciler.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a task waits in PROVISIONING for a host before it is stopped (ECS: up to 30 minutes).</summary>
    public TimeSpan ProvisioningTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long CapacityProviderReservation must stay below the target before managed scaling shrinks a group (ECS's
    /// scale-in alarm: 15 data points of one minute).
    /// </summary>
    public TimeSpan ScaleInAfter { get; set; } = TimeSpan.FromMinutes(15);
}

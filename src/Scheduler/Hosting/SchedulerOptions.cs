using System.ComponentModel.DataAnnotations;
using Berth.Scheduler.RegistryAccess;
using Microsoft.Extensions.Options;

namespace Berth.Scheduler.Hosting;

/// <summary>The <c>Scheduler</c> configuration section.</summary>
internal sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Command-line switches that map onto this section (<c>--data-dir PATH</c>, <c>--lost-host-grace 00:00:05</c>) and its subsections.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(RegistryAccessOptions.SwitchMappings, StringComparer.Ordinal)
    {
        ["--data-dir"] = $"{Section}:{nameof(DataDirectory)}",
        ["--lost-host-grace"] = $"{Section}:{nameof(LostHostGracePeriod)}",
    };

    /// <summary>Where the database and the token files live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// How often balancer replicas send a full health report and a heartbeat, and the scheduler a heartbeat (the
    /// watch stream's <c>report_interval_ms</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan BalancerReportInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often draining targets are looked at (deregistration delays that ended); in-flight reports wake it at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan DrainCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often both sides of a session send heartbeats.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Heartbeat intervals without a word from an agent before its session is closed.</summary>
    [Range(2, 100)]
    public int MissedHeartbeatsBeforeDisconnect { get; set; } = 3;

    /// <summary>How long a session may stay silent before it is closed.</summary>
    public TimeSpan SessionTimeout => HeartbeatInterval * MissedHeartbeatsBeforeDisconnect;

    /// <summary>
    /// How long an instance's agent may stay silent (no session, no message) before the instance is declared lost and
    /// its tasks' last status becomes UNKNOWN (services then replace them). A shorter blip changes nothing. After a
    /// scheduler start every instance gets the full period to reconnect, whatever it last did before.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan LostHostGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>fsync the database at every commit (survives power loss) rather than only surviving process crashes.</summary>
    public bool FullSync { get; set; } = true;

    /// <summary>
    /// How often the service reconciler compares every service with its tasks even when nothing woke it (changes wake
    /// it at once; the periodic pass catches time-based rules such as the health-check grace period).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ServiceReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an identical service event (e.g. "unable to place a task") is not recorded again (ECS rate-limits repeats).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan ServiceEventRepeatInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First port of the dynamic host port range.</summary>
    [Range(1, 65535)]
    public int DynamicPortFirst { get; set; } = 49153;

    /// <summary>Last port of the dynamic host port range.</summary>
    [Range(1, 65535)]
    public int DynamicPortLast { get; set; } = 65535;

    /// <summary>The launch throttle of services whose tasks keep failing (<c>Scheduler:ServiceThrottle:*</c>).</summary>
    public Services.ServiceThrottleOptions ServiceThrottle { get; set; } = new();
}

/// <summary>Rules across fields of <see cref="SchedulerOptions"/>.</summary>
internal sealed class SchedulerOptionsValidator : IValidateOptions<SchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulerOptions options)
    {
        if (options.DynamicPortFirst > options.DynamicPortLast)
        {
            return ValidateOptionsResult.Fail("Scheduler:DynamicPortFirst must not exceed Scheduler:DynamicPortLast.");
        }

        // Data annotations do not reach into the nested section.
        var throttle = options.ServiceThrottle;
        if (throttle.Initial <= TimeSpan.Zero || throttle.Maximum < throttle.Initial || throttle.FailuresBeforeThrottle < 1)
        {
            return ValidateOptionsResult.Fail($"Scheduler:ServiceThrottle:Initial ({throttle.Initial}) must be positive and not above Scheduler:ServiceThrottle:Maximum ({throttle.Maximum}); FailuresBeforeThrottle ({throttle.FailuresBeforeThrottle}) at least 1.");
        }

        return ValidateOptionsResult.Success;
    }
}

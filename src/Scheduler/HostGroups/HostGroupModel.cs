using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Scheduler.Kernel;

namespace Berth.Scheduler.HostGroups;

/// <summary>A host group's bounds and desired capacity (Auto Scaling's MinSize, MaxSize, DesiredCapacity).</summary>
internal sealed record HostGroupSize(int Min, int Max, int Desired)
{
    /// <summary>The largest size a group may have (each host is a machine; a guard against a typo's thousand VMs).</summary>
    public const int Largest = 1000;

    /// <summary>Throws Auto Scaling's ValidationError for bounds that do not hold.</summary>
    public void Validate()
    {
        if (Min < 0 || Max < 0 || Desired < 0)
        {
            throw Asg.Validation($"Sizes must not be negative (min size:{Min}, max size:{Max}, desired capacity:{Desired}).");
        }

        if (Max > Largest)
        {
            throw Asg.Validation($"Max size:{Max} must be at most {Largest}.");
        }

        if (Max < Min)
        {
            throw Asg.Validation($"Max bound, {Max}, must be greater than or equal to min bound, {Min}.");
        }

        if (Desired < Min || Desired > Max)
        {
            throw Asg.Validation($"Desired capacity:{Desired} must be between the specified min size:{Min} and max size:{Max}");
        }
    }

    public string Constraints => $"min: {Min}, max: {Max}, desired: {Desired}";
}

/// <summary>What every host of a group is.</summary>
/// <param name="InstanceType">The hosts' instance type attribute (<c>berth.instance-type</c>); empty for none.</param>
/// <param name="Zones">The zones to spread over (<c>berth.zone</c>), in the order given; empty for hosts without a zone.</param>
/// <param name="Attributes">Custom attributes every host's agent registers with.</param>
/// <param name="HealthCheckGracePeriod">How long after its launch a host is not judged by its health (Auto Scaling's HealthCheckGracePeriod).</param>
internal sealed record HostGroupSpec(
    string InstanceType,
    IReadOnlyList<string> Zones,
    IReadOnlyDictionary<string, string> Attributes,
    TimeSpan HealthCheckGracePeriod)
{
    /// <summary>Auto Scaling's default grace period (300 s).</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(300);
}

/// <summary>Where a group's host is in its life, Auto Scaling's lifecycle states.</summary>
internal enum GroupHostState
{
    /// <summary>Named and recorded; the provisioner is making it (or was, when the scheduler stopped).</summary>
    Pending,

    /// <summary>Made; its agent registers (or has registered) as a container instance.</summary>
    InService,

    /// <summary>Chosen for scale-in while it runs non-daemon tasks: its instance is DRAINING until they are gone (Terminating:Wait).</summary>
    Draining,

    /// <summary>Being destroyed; its container instance is deregistered once it is gone.</summary>
    Terminating,
}

/// <summary>A host a group owns.</summary>
internal sealed class GroupHost
{
    /// <summary>The provisioner's name for it, chosen before the create (a DNS label).</summary>
    public required string Name { get; init; }

    public required string Zone { get; init; }

    public GroupHostState State { get; set; }

    public DateTimeOffset LaunchedAt { get; init; }

    /// <summary>Its container instance's id, once known (from the provisioner or the <c>berth.host-name</c> attribute).</summary>
    public string? InstanceId { get; set; }

    /// <summary>The activity that launches or terminates it (finished when that ends).</summary>
    public string ActivityId { get; set; } = "";

    /// <summary>
    /// Auto Scaling's lifecycle state as shown: Pending, InService, Terminating:Wait (draining) or Terminating.
    /// </summary>
    public string LifecycleState => State switch
    {
        GroupHostState.Pending => "Pending",
        GroupHostState.InService => "InService",
        GroupHostState.Draining => "Terminating:Wait",
        _ => "Terminating",
    };
}

/// <summary>The outcome of an activity, Auto Scaling's StatusCode values.</summary>
internal enum ActivityStatus
{
    InProgress,
    Successful,
    Failed,
    Cancelled,
}

/// <summary>A scaling activity (launch or termination of a host), in Auto Scaling's words.</summary>
internal sealed class HostGroupActivity
{
    /// <summary>Activities kept per group, newest first.</summary>
    public const int Kept = 100;

    public required string Id { get; init; }

    public required string Description { get; init; }

    public required string Cause { get; set; }

    public DateTimeOffset StartTime { get; init; }

    public DateTimeOffset? EndTime { get; set; }

    public ActivityStatus Status { get; set; }

    /// <summary>Why it failed: the provisioner's own words.</summary>
    public string StatusMessage { get; set; } = "";

    /// <summary>0 to 100, as Auto Scaling reports it (100 once ended).</summary>
    public int Progress => Status == ActivityStatus.InProgress ? 50 : 100;

    public void End(DateTimeOffset at, ActivityStatus status, string message = "")
    {
        EndTime = at;
        Status = status;
        StatusMessage = message;
    }
}

/// <summary>Auto Scaling's vocabulary: its error names first in the message, its cause sentences, its name rules.</summary>
internal static partial class Asg
{
    public static StateException Validation(string message) => new(StateError.InvalidArgument, $"ValidationError: {message}");

    public static StateException NotFound(string name) =>
        new(StateError.NotFound, $"ValidationError: AutoScalingGroup name not found - AutoScalingGroup '{Printable(name)}' not found");

    public static StateException AlreadyExists(string name) =>
        new(StateError.AlreadyExists, $"AlreadyExists: AutoScalingGroup by this name already exists - A group with the name {Printable(name)} already exists");

    public static StateException ResourceInUse(string message = "You cannot delete an AutoScalingGroup while there are instances still in the group.") =>
        new(StateError.FailedPrecondition, $"ResourceInUse: {message}");

    public static StateException ActivityInProgress() =>
        new(StateError.FailedPrecondition, "ScalingActivityInProgress: You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.");

    /// <summary>Auto Scaling's time spelling in causes: <c>2026-12-04T16:00:00Z</c>.</summary>
    public static string At(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static string Printable(string value) => value.Length > 64 || value.Any(char.IsControl) ? "(invalid name)" : value;

    /// <summary>A group name: 1-255 letters, digits, '-', '_' or '.', starting with a letter or digit.</summary>
    public static void CheckName(string name)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw Validation($"AutoScalingGroupName '{Printable(name)}' must be 1-255 letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")]
    private static partial Regex NamePattern();
}

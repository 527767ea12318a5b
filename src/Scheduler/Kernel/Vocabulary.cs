namespace Berth.Scheduler.Kernel;

// The scheduler's own vocabulary, in ECS's words. The numbers are stored (Persistence) and never change; the gRPC edge
// maps each value to the protocol's value of the same name (a test holds the two lists equal).

/// <summary>The lifecycle of a task or a container (desired and last status).</summary>
internal enum LifecycleStatus
{
    /// <summary>Not set (a report that leaves the status as it was).</summary>
    Unspecified = 0,

    /// <summary>Resources are being prepared.</summary>
    Provisioning = 1,

    /// <summary>Placed; the agent has not started it yet.</summary>
    Pending = 2,

    /// <summary>Starting.</summary>
    Activating = 3,

    /// <summary>Running.</summary>
    Running = 4,

    /// <summary>Being taken out of service.</summary>
    Deactivating = 5,

    /// <summary>Stopping.</summary>
    Stopping = 6,

    /// <summary>Resources are being released.</summary>
    Deprovisioning = 7,

    /// <summary>Stopped: terminal.</summary>
    Stopped = 8,

    /// <summary>The scheduler's verdict about a task on a lost host: it may still run.</summary>
    Unknown = 9,
}

/// <summary>Why a task stopped (ECS stopCode).</summary>
internal enum StopCode
{
    /// <summary>Not stopped, or no reason known.</summary>
    Unspecified = 0,

    /// <summary>A container could not start.</summary>
    TaskFailedToStart = 1,

    /// <summary>An essential container exited.</summary>
    EssentialContainerExited = 2,

    /// <summary>StopTask.</summary>
    UserInitiated = 3,

    /// <summary>The service scheduler stopped it.</summary>
    ServiceSchedulerInitiated = 4,

    /// <summary>Its instance went away (deregistered, or lost and gone).</summary>
    TerminationNotice = 5,
}

/// <summary>A task's or container's health check state.</summary>
internal enum HealthStatus
{
    /// <summary>No health check, or not reported.</summary>
    Unspecified = 0,

    /// <summary>Passing.</summary>
    Healthy = 1,

    /// <summary>Failing.</summary>
    Unhealthy = 2,

    /// <summary>Not decided yet.</summary>
    Unknown = 3,
}

/// <summary>How a service places its tasks.</summary>
internal enum SchedulingStrategy
{
    /// <summary>A desired count of tasks across the cluster.</summary>
    Replica = 1,

    /// <summary>One task on every ACTIVE instance that meets the constraints.</summary>
    Daemon = 2,
}

/// <summary>Which task a service keeps when a lost host comes back while its replacement runs.</summary>
internal enum ReconnectPolicy
{
    /// <summary>The replacement stays; the returning task is stopped.</summary>
    KeepReplacement = 1,

    /// <summary>The returning task stays; the replacement is stopped.</summary>
    KeepOriginal = 2,
}

/// <summary>Cluster, service and deployment status words, as ECS spells them.</summary>
internal static class Statuses
{
    public const string Active = "ACTIVE";
    public const string Draining = "DRAINING";
    public const string Inactive = "INACTIVE";
    public const string Primary = "PRIMARY";
    public const string InProgress = "IN_PROGRESS";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";
}

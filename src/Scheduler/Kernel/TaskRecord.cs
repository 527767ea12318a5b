using System.Collections.Immutable;
using Berth.Scheduler.Placement;

namespace Berth.Scheduler.Kernel;

/// <summary>
/// A task. Owned by its <see cref="ClusterState"/>: read and changed only under the cluster's lock. What placement,
/// snapshots, pushes of other tasks and counts use is kept as fields; the rest (<see cref="TaskDetails"/>) may still
/// be the stored form of a task loaded at start-up, decoded on first use.
/// </summary>
/// <remarks>
/// Decoding every live task's details up front was most of a restart's CPU: a loaded task keeps its stored details
/// (bytes in the persistence layer's format, decoded by <see cref="StoredDetailsDecoder"/>) until a read, a push or a
/// report names it. Every detail property decodes first, so a value read (or written) after a restart is the one
/// stored before it.
/// </remarks>
internal sealed class TaskRecord
{
    // The stored source (a loaded task, not yet used), or the decoded details. One field rather than a holder object:
    // a million tasks make every extra object per task count.
    private object? _details;

    public required string Id { get; init; }

    public required string Cluster { get; init; }

    /// <summary>Where it is placed; empty while it waits in PROVISIONING for capacity (set once, when it is placed).</summary>
    public required string InstanceId { get; set; }

    public required TaskDefinitionRecord Definition { get; init; }

    public required string Group { get; init; }

    public string? ClientToken { get; init; }

    public required ImmutableArray<PortBinding> Ports { get; set; }

    /// <summary>What it holds on its instance; a PROVISIONING task's is its cpu and memory alone (no instance, no ports yet).</summary>
    public required TaskReservation Reservation { get; set; }

    public LifecycleStatus DesiredStatus
    {
        get;
        set
        {
            field = value;
            DesiredEncoding = null;
        }
    } = LifecycleStatus.Running;

    public LifecycleStatus LastStatus { get; set; } = LifecycleStatus.Pending;

    /// <summary>When it stopped; kept with the record (not the details) because bounded state sorts by it.</summary>
    public DateTimeOffset? StoppedAt { get; set; }

    public long DesiredSeq { get; set; }

    public ulong AgentSequence { get; set; }

    /// <summary>False between creation and the commit that made it durable: agents are not sent undurable tasks.</summary>
    public bool Durable { get; set; }

    /// <summary>
    /// A cache slot of the agent edge (Sessions): this task's entry of its instance's desired state, encoded once and
    /// reused by every push. Dropped here whenever a field the entry carries changes (desired status, stop code, reason).
    /// </summary>
    public byte[]? DesiredEncoding { get; set; }

    public string StartedBy
    {
        get => Details.StartedBy;
        init => Details.StartedBy = value;
    }

    public string LaunchType
    {
        get => Details.LaunchType;
        init => Details.LaunchType = value;
    }

    /// <summary>The capacity provider it was launched with (ECS capacityProviderName); empty when launched by launch type.</summary>
    public string CapacityProviderName
    {
        get => Details.CapacityProviderName;
        init => Details.CapacityProviderName = value;
    }

    public TaskOverrides? Overrides
    {
        get => Details.Overrides;
        init => Details.Overrides = value;
    }

    /// <summary>Exec into its containers is allowed (ECS enableExecuteCommand, from RunTask or its service); fixed at launch.</summary>
    public bool EnableExecuteCommand
    {
        get => Details.EnableExecuteCommand;
        init => Details.EnableExecuteCommand = value;
    }

    /// <summary>
    /// The security groups (ids) an awsvpc task belongs to, fixed at launch: those its RunTask or service named, else its
    /// cluster's default group. Empty for other network modes (and for awsvpc tasks launched before groups existed,
    /// whose ingress the agents leave unfiltered).
    /// </summary>
    public ImmutableArray<string> SecurityGroups
    {
        get => Details.SecurityGroups;
        init => Details.SecurityGroups = value;
    }

    /// <summary>The subnets its RunTask or service named (fixed at launch; a waiting task is placed in their zones); empty: any zone.</summary>
    public ImmutableArray<SubnetRef> Subnets
    {
        get => Details.Subnets;
        init => Details.Subnets = value;
    }

    /// <summary>The subnet it is in: its instance's zone's (ECS attachment detail subnetId); empty while unplaced or on a host without a zone.</summary>
    public string SubnetId
    {
        get => Details.SubnetId;
        set => Details.SubnetId = value;
    }

    public DateTimeOffset CreatedAt
    {
        get => Details.CreatedAt;
        init => Details.CreatedAt = value;
    }

    public StopCode StopCode
    {
        get => Details.StopCode;
        set
        {
            Details.StopCode = value;
            DesiredEncoding = null;
        }
    }

    public string StoppedReason
    {
        get => Details.StoppedReason;
        set
        {
            Details.StoppedReason = value;
            DesiredEncoding = null;
        }
    }

    public HealthStatus HealthStatus
    {
        get => Details.HealthStatus;
        set => Details.HealthStatus = value;
    }

    public List<TaskContainer> Containers
    {
        get => Details.Containers;
        init => Details.Containers = value;
    }

    public DateTimeOffset? StartedAt
    {
        get => Details.StartedAt;
        set => Details.StartedAt = value;
    }

    public DateTimeOffset? StoppingAt
    {
        get => Details.StoppingAt;
        set => Details.StoppingAt = value;
    }

    public DateTimeOffset? LastReportedAt
    {
        get => Details.LastReportedAt;
        set => Details.LastReportedAt = value;
    }

    public long Version
    {
        get => Details.Version;
        set => Details.Version = value;
    }

    /// <summary>An awsvpc task's network interface as its agent reported it (its address); null before it has one.</summary>
    public TaskAttachment? Attachment
    {
        get => Details.Attachment;
        set => Details.Attachment = value;
    }

    /// <summary>
    /// While it waits in PROVISIONING: why (the capacity provider found no host with room). Empty once placed.
    /// </summary>
    public string ProvisioningReason
    {
        get => Details.ProvisioningReason;
        set => Details.ProvisioningReason = value;
    }

    /// <summary>
    /// While a RunTask's task waits in PROVISIONING: the placement strategy and constraints RunTask was given, so that it
    /// is placed later as it would have been at once (a service's come from the service). Empty once placed.
    /// </summary>
    public ImmutableArray<PlacementSpec> WaitingStrategy
    {
        get => Details.WaitingStrategy;
        set => Details.WaitingStrategy = value;
    }

    /// <inheritdoc cref="WaitingStrategy"/>
    public ImmutableArray<PlacementSpec> WaitingConstraints
    {
        get => Details.WaitingConstraints;
        set => Details.WaitingConstraints = value;
    }

    /// <summary>Waits in PROVISIONING for a capacity provider's host (desired RUNNING, no instance yet).</summary>
    public bool IsProvisioning => LastStatus == LifecycleStatus.Provisioning && DesiredStatus == LifecycleStatus.Running;

    public string Arn => Arns.Task(Cluster, Id);

    /// <summary>
    /// Decodes stored details: the persistence layer's format, registered by it before it loads a task. One hook for the
    /// process rather than a decoder object per task: a million loaded tasks made those objects 24 MB.
    /// </summary>
    public static Func<byte[], TaskDetails>? StoredDetailsDecoder { get; set; }

    /// <summary>The stored details of a task loaded at start-up, kept until first used; set only by the loader.</summary>
    public byte[] StoredDetails
    {
        init => _details = value;
    }

    /// <summary>True until a loaded task's details are first used (tests and diagnostics).</summary>
    public bool DetailsPending => Volatile.Read(ref _details) is byte[];

    /// <summary>The details, decoded first when they are still stored.</summary>
    public TaskDetails Details => Volatile.Read(ref _details) as TaskDetails ?? DecodeOrCreate();

    private TaskDetails DecodeOrCreate()
    {
        while (true)
        {
            switch (Volatile.Read(ref _details))
            {
                case TaskDetails details:
                    return details;
                case byte[] stored:
                    // Two threads using a loaded task for the first time (a read under one cluster lock and a lock-free
                    // diagnostic, say) decode it once, and neither sees half of it. The array is this record's own and
                    // never leaves it, so it serves as the lock.
                    lock (stored)
                    {
                        if (_details is not TaskDetails decoded)
                        {
                            var decode = StoredDetailsDecoder ?? throw new InvalidOperationException("No decoder for stored task details is registered.");
                            decoded = decode(stored);
                            Volatile.Write(ref _details, decoded);
                        }

                        return decoded;
                    }

                default:
                    // A new task: its details start empty (normally set by its initializer).
                    var created = new TaskDetails();
                    if (Interlocked.CompareExchange(ref _details, created, null) is null)
                    {
                        return created;
                    }

                    break;
            }
        }
    }
}

/// <summary>The part of a <see cref="TaskRecord"/> that start-up does not need. Mutable like the record, under the same lock.</summary>
internal sealed class TaskDetails
{
    public string StartedBy { get; set; } = "";

    public string LaunchType { get; set; } = "EC2";

    public string CapacityProviderName { get; set; } = "";

    public TaskOverrides? Overrides { get; set; }

    public bool EnableExecuteCommand { get; set; }

    public ImmutableArray<string> SecurityGroups { get; set; } = [];

    public ImmutableArray<SubnetRef> Subnets { get; set; } = [];

    public string SubnetId { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public StopCode StopCode { get; set; }

    public string StoppedReason { get; set; } = "";

    public HealthStatus HealthStatus { get; set; }

    public List<TaskContainer> Containers { get; set; } = [];

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? StoppingAt { get; set; }

    public DateTimeOffset? LastReportedAt { get; set; }

    public long Version { get; set; } = 1;

    public TaskAttachment? Attachment { get; set; }

    public string ProvisioningReason { get; set; } = "";

    public ImmutableArray<PlacementSpec> WaitingStrategy { get; set; } = [];

    public ImmutableArray<PlacementSpec> WaitingConstraints { get; set; } = [];
}

/// <summary>
/// An awsvpc task's network interface (ECS's ElasticNetworkInterface attachment): its address in its host's task
/// subnet. <see cref="Released"/> once the task stopped and the address went back to the host's pool.
/// </summary>
internal sealed record TaskAttachment(string Ipv4Address, string Subnet, string Gateway, string MacAddress, bool Released);

/// <summary>A container of a task, as the agent last reported it.</summary>
internal sealed class TaskContainer
{
    public required string Name { get; set; }

    public string Image { get; set; } = "";

    public LifecycleStatus LastStatus { get; set; }

    public int? ExitCode { get; set; }

    public string Reason { get; set; } = "";

    public List<NetworkBinding> NetworkBindings { get; set; } = [];

    public HealthStatus HealthStatus { get; set; }

    public string RuntimeId { get; set; } = "";

    public bool Essential { get; set; }

    public string ImageDigest { get; set; } = "";
}

/// <summary>A container port as bound on the host (ECS networkBindings).</summary>
internal readonly record struct NetworkBinding(int ContainerPort, int HostPort, string Protocol, string BindIp);

/// <summary>RunTask's overrides (ECS containerOverrides).</summary>
internal sealed record TaskOverrides(ImmutableArray<ContainerOverrides> ContainerOverrides)
{
    /// <summary>Total characters of every name, command argument and environment entry (ECS limits the whole to 8 KiB).</summary>
    public int Size => ContainerOverrides.Sum(c => c.Name.Length + c.Command.Sum(a => a.Length) + c.Environment.Sum(e => e.Name.Length + e.Value.Length));

    public bool Equals(TaskOverrides? other) => other is not null && ContainerOverrides.SequenceEqual(other.ContainerOverrides);

    public override int GetHashCode() => ContainerOverrides.Length;
}

/// <summary>One container's override: its command (when <see cref="CommandSet"/>) and extra environment.</summary>
internal sealed record ContainerOverrides(string Name, ImmutableArray<string> Command, bool CommandSet, ImmutableArray<EnvironmentVariable> Environment)
{
    public bool Equals(ContainerOverrides? other) =>
        other is not null && Name == other.Name && CommandSet == other.CommandSet && Command.SequenceEqual(other.Command) && Environment.SequenceEqual(other.Environment);

    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
}

/// <summary>An environment variable.</summary>
internal readonly record struct EnvironmentVariable(string Name, string Value);

using System.Collections.Immutable;
using Berth.Core.TaskDefinitions;
using Berth.Scheduler.Placement;
using Berth.Scheduler.V1;
using Google.Protobuf;
using TaskDefinition = Berth.Core.TaskDefinitions.TaskDefinition;

namespace Berth.Scheduler.State;

// In-memory records. They are mutable and owned by SchedulerState: every read or write happens under its lock, and
// nothing outside the state holds one after the lock is released (callers get protobuf copies).

internal sealed class ClusterRecord
{
    public required string Name { get; init; }

    public string Status { get; set; } = "ACTIVE";

    public DateTimeOffset CreatedAt { get; set; }

    public string Arn => Arns.Cluster(Name);
}

internal sealed class TaskDefinitionRecord
{
    public required string Family { get; init; }

    public required int Revision { get; init; }

    public required TaskDefinition Definition { get; init; }

    /// <summary>The normalized user document (read-only fields dropped) as stored.</summary>
    public required string Json { get; init; }

    public required TaskRequirements Requirements { get; init; }

    public required string Arn { get; init; }

    public string Status { get; set; } = "ACTIVE";

    public DateTimeOffset RegisteredAt { get; init; }

    public DateTimeOffset? DeregisteredAt { get; set; }

    /// <summary>The document sent to agents and returned by Describe, cached per status.</summary>
    public string DescribedJson => _described ??= TaskDefinitionJson.SerializeDescribed(Definition, Revision, Arn, Status, RegisteredAt, DeregisteredAt);

    private string? _described;

    public void InvalidateDescribed() => _described = null;

    /// <summary>The agents' <see cref="TaskDefinitionDocument"/> encoded, rebuilt when the described document changes.</summary>
    public byte[] EncodedDocument()
    {
        var json = DescribedJson;
        if (!ReferenceEquals(_documentJson, json))
        {
            _document = new TaskDefinitionDocument { TaskDefinitionArn = Arn, TaskDefinitionJson = json }.ToByteArray();
            _documentJson = json;
        }

        return _document!;
    }

    private string? _documentJson;
    private byte[]? _document;
}

internal sealed class InstanceRecord
{
    public required string Id { get; init; }

    public required string Cluster { get; init; }

    public required byte[] CredentialHash { get; init; }

    public ContainerInstanceStatus Status { get; set; } = ContainerInstanceStatus.Active;

    public DateTimeOffset RegisteredAt { get; init; }

    public required HostFacts Facts { get; set; }

    /// <summary>Attributes put through the API (and the agent's configured ones), by canonical name.</summary>
    public SortedDictionary<string, string> CustomAttributes { get; } = new(StringComparer.Ordinal);

    /// <summary>The global sequence number of the last change of the instance itself that agents must see (status).</summary>
    public long DesiredSeq { get; set; }

    /// <summary>The desired-state version: the highest DesiredSeq of the instance and of any task ever placed on it.</summary>
    public long DesiredVersion { get; set; }

    /// <summary>Tasks placed here that are not STOPPED: the desired set, and what holds the instance's resources.</summary>
    public HashSet<TaskRecord> Tasks { get; } = [];

    public bool AgentConnected { get; set; }

    /// <summary>Incremented by every new session, so an old session ending does not disconnect a newer one.</summary>
    public long SessionGeneration { get; set; }

    public DateTimeOffset? LastSeenAt { get; set; }

    /// <summary>
    /// When the agent was last heard from (any session message, or the session starting), as a monotonic
    /// <see cref="TimeProvider"/> timestamp; the registration or the scheduler's start when it has not been heard
    /// since. Lost-host detection measures silence from here. Not persisted: a restart gives every agent a full grace period.
    /// </summary>
    public long LastHeard { get; set; }

    public long AcknowledgedVersion { get; set; }

    public ulong AppliedSequence { get; set; }

    public string Arn => Arns.ContainerInstance(Cluster, Id);
}

/// <remarks>
/// A task loaded at start-up keeps its stored <see cref="TaskInfo"/> bytes and decodes its details (containers,
/// overrides, times, stop reason, version) on first use instead: placement, snapshots and counts need only the fields
/// decoded at load, and decoding every live task's details up front was most of a restart's CPU. Every detail
/// property decodes first, so a value read (or written) after a restart is the one stored before it.
/// </remarks>
internal sealed class TaskRecord
{
    public required string Id { get; init; }

    public required string Cluster { get; init; }

    public required string InstanceId { get; init; }

    public required TaskDefinitionRecord Definition { get; init; }

    public required string Group { get; init; }

    public string StartedBy
    {
        get => Decoded().StartedBy;
        init => Decoded().StartedBy = value;
    }

    public string LaunchType
    {
        get => Decoded().LaunchType;
        init => Decoded().LaunchType = value;
    }

    public string? ClientToken { get; init; }

    public TaskOverride? Overrides
    {
        get => Decoded().Overrides;
        init => Decoded().Overrides = value;
    }

    public required ImmutableArray<PortBinding> Ports { get; init; }

    public required TaskReservation Reservation { get; init; }

    public DateTimeOffset CreatedAt
    {
        get => Decoded().CreatedAt;
        init => Decoded().CreatedAt = value;
    }

    public LifecycleStatus DesiredStatus
    {
        get;
        set
        {
            field = value;
            DesiredMessage = null;
        }
    } = LifecycleStatus.Running;

    /// <summary>
    /// This task's entry of its instance's desired state, built once and reused by every push until a field it
    /// carries changes (desired status, stop code, reason): an instance's complete set is re-sent at every change,
    /// so rebuilding every entry each time would cost O(tasks) allocations per push.
    /// </summary>
    public DesiredTask? DesiredMessage
    {
        get;
        set
        {
            field = value;
            DesiredBytes = null;
        }
    }

    /// <summary>
    /// <see cref="DesiredMessage"/> encoded, built on first push and dropped with it: a push then copies bytes instead
    /// of re-encoding every entry of the set (see DesiredStateFrame).
    /// </summary>
    public byte[]? DesiredBytes { get; private set; }

    public byte[] EncodedDesired(Func<TaskRecord, DesiredTask> build) =>
        DesiredBytes ??= (DesiredMessage ??= build(this)).ToByteArray();

    public LifecycleStatus LastStatus { get; set; } = LifecycleStatus.Pending;

    public StopCode StopCode
    {
        get => Decoded().StopCode;
        set
        {
            Decoded().StopCode = value;
            DesiredMessage = null;
        }
    }

    public string StoppedReason
    {
        get => Decoded().StoppedReason;
        set
        {
            Decoded().StoppedReason = value;
            DesiredMessage = null;
        }
    }

    public HealthStatus HealthStatus
    {
        get => Decoded().HealthStatus;
        set => Decoded().HealthStatus = value;
    }

    public List<Container> Containers
    {
        get => Decoded().Containers;
        init => Decoded().Containers = value;
    }

    public DateTimeOffset? StartedAt
    {
        get => Decoded().StartedAt;
        set => Decoded().StartedAt = value;
    }

    public DateTimeOffset? StoppingAt
    {
        get => Decoded().StoppingAt;
        set => Decoded().StoppingAt = value;
    }

    public DateTimeOffset? StoppedAt
    {
        get => Decoded().StoppedAt;
        set => Decoded().StoppedAt = value;
    }

    public DateTimeOffset? LastReportedAt
    {
        get => Decoded().LastReportedAt;
        set => Decoded().LastReportedAt = value;
    }

    public long Version
    {
        get => Decoded().Version;
        set => Decoded().Version = value;
    }

    public long DesiredSeq { get; set; }

    public ulong AgentSequence { get; set; }

    /// <summary>False between creation and the commit that made it durable: agents are not sent undurable tasks.</summary>
    public bool Durable { get; set; }

    public string Arn => Arns.Task(Cluster, Id);

    /// <summary>
    /// The stored <see cref="TaskInfo"/> of a task loaded at start-up, kept until its details are first used; set
    /// only by the loader, and never together with a detail property.
    /// </summary>
    public byte[] StoredInfo
    {
        init => _details = value;
    }

    /// <summary>True until a loaded task's details are first used (tests and diagnostics).</summary>
    public bool DetailsPending => Volatile.Read(ref _details) is byte[];

    // The stored bytes (a loaded task, not yet used), or the decoded details. One field rather than a holder object:
    // a million tasks make every extra object per task count.
    private object? _details;

    private TaskDetails Decoded() => Volatile.Read(ref _details) as TaskDetails ?? DecodeOrCreate();

    private TaskDetails DecodeOrCreate()
    {
        while (true)
        {
            switch (Volatile.Read(ref _details))
            {
                case TaskDetails details:
                    return details;
                case byte[] stored:
                    // Two threads using a loaded task for the first time decode it once, and neither sees half of
                    // it. The array is this record's own and never leaves it, so it serves as the lock.
                    lock (stored)
                    {
                        if (_details is not TaskDetails decoded)
                        {
                            decoded = TaskDetails.Decode(stored);
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

/// <summary>ARN spellings, ECS's shape with partition <c>berth</c> and region <c>local</c>.</summary>
internal static class Arns
{
    private const string Prefix = "arn:berth:ecs:local:";

    public static string Cluster(string name) => $"{Prefix}cluster/{name}";

    public static string TaskDefinition(string family, int revision) => $"{Prefix}task-definition/{family}:{revision}";

    public static string ContainerInstance(string cluster, string id) => $"{Prefix}container-instance/{cluster}/{id}";

    public static string Task(string cluster, string id) => $"{Prefix}task/{cluster}/{id}";

    public static string Service(string cluster, string name) => $"{Prefix}service/{cluster}/{name}";

    /// <summary>The last path segment of an ARN, or the input when it is not an ARN (ids and names pass through).</summary>
    public static string Id(string reference)
    {
        if (!reference.StartsWith("arn:", StringComparison.Ordinal))
        {
            return reference;
        }

        var slash = reference.LastIndexOf('/');
        return slash >= 0 ? reference[(slash + 1)..] : reference;
    }

    /// <summary>A cluster name from a name or a cluster ARN; <c>default</c> when empty.</summary>
    public static string ClusterName(string? reference) => string.IsNullOrEmpty(reference) ? "default" : Id(reference);
}

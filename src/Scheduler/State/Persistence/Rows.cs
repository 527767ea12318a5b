namespace Berth.Scheduler.State.Persistence;

// Rows of the scheduler database. Columns that reads filter on are real columns; the rest of a record rides in a
// protobuf blob, so that adding a field to the contracts needs no migration.

/// <summary>A cluster.</summary>
internal sealed class ClusterRow
{
    public required string Name { get; set; }

    public required string Status { get; set; }

    public long CreatedAtMs { get; set; }
}

/// <summary>A task-definition revision; <see cref="Json"/> is the user's document as registered (read-only fields dropped).</summary>
internal sealed class TaskDefinitionRow
{
    public required string Family { get; set; }

    public int Revision { get; set; }

    public required string Status { get; set; }

    public required string Json { get; set; }

    public long RegisteredAtMs { get; set; }

    public long? DeregisteredAtMs { get; set; }
}

/// <summary>A container instance; <see cref="Facts"/> is a <c>HostFacts</c> message, <see cref="CustomAttributes"/> a list of attributes.</summary>
internal sealed class InstanceRow
{
    public required string Id { get; set; }

    public required string Cluster { get; set; }

    public int Status { get; set; }

    public required byte[] CredentialHash { get; set; }

    public long RegisteredAtMs { get; set; }

    public long DesiredSeq { get; set; }

    public required byte[] Facts { get; set; }

    public required byte[] CustomAttributes { get; set; }
}

/// <summary>A task; <see cref="Info"/> is a <c>TaskInfo</c> message without ARNs, <see cref="Ports"/> the host port assignments.</summary>
internal sealed class TaskRow
{
    public required string Id { get; set; }

    public required string Cluster { get; set; }

    public required string InstanceId { get; set; }

    public int DesiredStatus { get; set; }

    public int LastStatus { get; set; }

    public long DesiredSeq { get; set; }

    public long AgentSequence { get; set; }

    public string? ClientToken { get; set; }

    public required string Ports { get; set; }

    public required byte[] Info { get; set; }
}

/// <summary>
/// A service; <see cref="Info"/> is a <c>ServiceInfo</c> message with its configuration, deployments (PRIMARY first,
/// counts zero: they are derived from the tasks) and its last events.
/// </summary>
internal sealed class ServiceRow
{
    public required string Cluster { get; set; }

    public required string Name { get; set; }

    public required string Status { get; set; }

    public string? ClientToken { get; set; }

    public required byte[] Info { get; set; }
}

namespace Berth.Scheduler.Persistence;

// Rows of the scheduler database: the stored format, private to this folder. Columns that loading, reads and the
// retention filter on are real columns; the rest of a record rides in a versioned JSON document of this folder's own
// (StoredDocuments), never a message of the public API, so the API, the records and the database change independently.

/// <summary>A cluster.</summary>
internal sealed class ClusterRow
{
    public required string Name { get; set; }

    public required string Status { get; set; }

    public long CreatedAtMs { get; set; }

    /// <summary>The awsvpc task CIDR; null until given or chosen.</summary>
    public string? TaskCidr { get; set; }

    /// <summary>The associated capacity providers and default strategy, a <see cref="ClusterCapacityDocument"/>; null for none.</summary>
    public byte[]? CapacityProviders { get; set; }
}

/// <summary>A task-definition revision; <see cref="Json"/> is the user's ECS document as registered (read-only fields dropped).</summary>
internal sealed class TaskDefinitionRow
{
    public required string Family { get; set; }

    public int Revision { get; set; }

    public required string Status { get; set; }

    public required string Json { get; set; }

    public long RegisteredAtMs { get; set; }

    public long? DeregisteredAtMs { get; set; }
}

/// <summary>
/// A container instance. <see cref="Status"/>: 1 ACTIVE, 2 DRAINING, 3 INACTIVE. <see cref="HostFacts"/> is a
/// <see cref="HostFactsDocument"/>; <see cref="CustomAttributes"/> a JSON object of name to value.
/// </summary>
internal sealed class InstanceRow
{
    public required string Id { get; set; }

    public required string Cluster { get; set; }

    public int Status { get; set; }

    public required byte[] CredentialHash { get; set; }

    public long RegisteredAtMs { get; set; }

    public long? DeregisteredAtMs { get; set; }

    public long DesiredSeq { get; set; }

    public byte[]? HostFacts { get; set; }

    public required byte[] CustomAttributes { get; set; }

    /// <summary>The host's awsvpc task subnet (CIDR); null until its agent first connected.</summary>
    public string? TaskSubnet { get; set; }

    /// <summary>The host's address its peers route its task subnet through.</summary>
    public string? HostAddress { get; set; }
}

/// <summary>
/// A task. Statuses are the kernel's <c>LifecycleStatus</c> numbers; <see cref="Ports"/> the host port assignments
/// (<c>container|containerPort|hostPort|protocol</c>, ';'-separated); <see cref="Details"/> a
/// <see cref="TaskDetailsDocument"/>, decoded on first use after a restart.
/// </summary>
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

    public string? TaskDefinitionArn { get; set; }

    public string? GroupName { get; set; }

    public int Cpu { get; set; }

    public int Memory { get; set; }

    /// <summary>When it stopped (STOPPED tasks only): the retention removes the row some time after.</summary>
    public long? StoppedAtMs { get; set; }

    public byte[]? Details { get; set; }
}

/// <summary>A service; <see cref="Document"/> is a <see cref="ServiceDocument"/> (configuration, deployments, events).</summary>
internal sealed class ServiceRow
{
    public required string Cluster { get; set; }

    public required string Name { get; set; }

    public required string Status { get; set; }

    public string? ClientToken { get; set; }

    /// <summary>When it became INACTIVE: the retention removes the row some time after.</summary>
    public long? InactiveAtMs { get; set; }

    public byte[]? Document { get; set; }
}

/// <summary>A security group; <see cref="Document"/> is a <see cref="SecurityGroupDocument"/> (description and rules).</summary>
internal sealed class SecurityGroupRow
{
    public required string Id { get; set; }

    public required string Cluster { get; set; }

    public required string Name { get; set; }

    public required byte[] Document { get; set; }
}

/// <summary>A service's scalable target; <see cref="Document"/> is a <see cref="ScalableTargetDocument"/>.</summary>
internal sealed class ScalableTargetRow
{
    public required string Cluster { get; set; }

    public required string ServiceName { get; set; }

    public required byte[] Document { get; set; }
}

/// <summary>A host group with its hosts and activities; <see cref="Document"/> is a <see cref="HostGroupDocument"/>.</summary>
internal sealed class HostGroupRow
{
    public required string Cluster { get; set; }

    public required string Name { get; set; }

    public required byte[] Document { get; set; }
}

/// <summary>A capacity provider; <see cref="Document"/> is a <see cref="CapacityProviderDocument"/>.</summary>
internal sealed class CapacityProviderRow
{
    public required string Cluster { get; set; }

    public required string Name { get; set; }

    public required byte[] Document { get; set; }
}

/// <summary>
/// A load balancer (Kind 1), listener (2), rule (3) or target group with its targets (4); <see cref="Document"/> is a
/// <see cref="LoadBalancingDocument"/>.
/// </summary>
internal sealed class LoadBalancingRow
{
    public required string Arn { get; set; }

    public required string Cluster { get; set; }

    public int Kind { get; set; }

    public required byte[] Document { get; set; }
}

/// <summary>
/// An imported certificate (account-wide); <see cref="Document"/> is a <see cref="CertificateDocument"/>, private key
/// included, in clear: the database file's permissions (0600 in a 0700 data directory) protect it, as they protect the
/// admin token beside it (docs/load-balancer.md, "Certificates").
/// </summary>
internal sealed class CertificateRow
{
    public required string Arn { get; set; }

    public required byte[] Document { get; set; }
}

namespace Berth.Registry.Storage.Sqlite;

/// <summary>
/// The registry's replication configuration (src/Registry/Replication): one row, the rules as the admin API took them
/// (JSON, destination credentials included), replaced whole by PutReplicationConfiguration.
/// </summary>
internal sealed class ReplicationConfigurationEntity
{
    public int Id { get; set; }

    public required string Document { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// One image's replication to one destination: created (IN_PROGRESS) when a push matching a rule is read from the
/// outbox, in the transaction that moves replication's cursor, and updated by the worker's attempts.
/// </summary>
internal sealed class ReplicationImageEntity
{
    public long Id { get; set; }

    public required string Repository { get; set; }

    public required string Digest { get; set; }

    /// <summary>The destination's registry id (its name in the configuration).</summary>
    public required string Destination { get; set; }

    /// <summary>The tags pushed for this image since it was last complete here, one per line ("" for a push by digest).</summary>
    public required string Tags { get; set; }

    /// <summary><c>IN_PROGRESS</c>, <c>COMPLETE</c> or <c>FAILED</c>.</summary>
    public required string Status { get; set; }

    public string? FailureCode { get; set; }

    public int Attempts { get; set; }

    /// <summary>Grows with every new push for the row: an attempt completes the row only if no push came meanwhile.</summary>
    public long Version { get; set; }

    public DateTime? NextAttemptAt { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// A pull-through cache rule (src/Registry/PullThrough, ECR's CreatePullThroughCacheRule): repositories under
/// <see cref="Prefix"/> are copies of the upstream registry's, fetched on first pull. The upstream credentials are
/// stored as replication's destination credentials are (in the registry database, in a data dir of mode 0700).
/// </summary>
internal sealed class PullThroughCacheRuleEntity
{
    /// <summary>ECR's <c>ecrRepositoryPrefix</c>: a pull of <c>PREFIX/REPO</c> is a pull of <c>REPO</c> upstream.</summary>
    public required string Prefix { get; set; }

    /// <summary>The upstream registry's base URL (<c>https://host[:port]</c>).</summary>
    public required string UpstreamRegistryUrl { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}

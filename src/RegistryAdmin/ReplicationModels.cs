using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.RegistryAdmin;

/// <summary>Paths of the replication API (ECR's PutReplicationConfiguration, DescribeRegistry, DescribeImageReplicationStatus).</summary>
public static class ReplicationApiPaths
{
    /// <summary><c>GET</c>: the registry and its replication configuration (ECR's DescribeRegistry).</summary>
    public const string Registry = AdminApiPaths.Prefix + "/registry";

    /// <summary><c>PUT</c>: replaces the replication configuration (ECR's PutReplicationConfiguration).</summary>
    public const string Configuration = AdminApiPaths.Prefix + "/replication/configuration";

    /// <summary><c>GET ?imageDigest=</c> or <c>?imageTag=</c>: an image's status per destination (ECR's DescribeImageReplicationStatus).</summary>
    public static string Status(string repository) => $"{AdminApiPaths.Prefix}/replication/status/{OperationsApiPaths.EscapeName(repository)}";
}

/// <summary>Where a rule copies images: another Berth registry (ECR names a region and account; Berth a URL and credentials).</summary>
/// <param name="Region">A label for the destination's place (ECR's region); optional.</param>
/// <param name="RegistryId">Names the destination in statuses; defaults to the URL's host and port.</param>
/// <param name="Url">The destination registry's base URL (<c>http(s)://host:port</c>).</param>
/// <param name="Username">A robot or user of the destination with push rights; none for a registry without auth.</param>
/// <param name="Password">Its secret or ECR-style login password: stored, never shown again (null in answers).</param>
public sealed record ReplicationDestination(string? Region, string? RegistryId, string? Url, string? Username = null, string? Password = null);

/// <summary>Which repositories a rule replicates (ECR: <c>PREFIX_MATCH</c> only).</summary>
/// <param name="Filter">A repository name prefix.</param>
/// <param name="FilterType"><c>PREFIX_MATCH</c>.</param>
public sealed record RepositoryFilter(string? Filter, string? FilterType);

/// <summary>One rule: the repositories matching any filter (every repository without filters) go to every destination.</summary>
/// <param name="Destinations">Up to 25.</param>
/// <param name="RepositoryFilters">Up to 100; none or empty: all repositories.</param>
public sealed record ReplicationRule(IReadOnlyList<ReplicationDestination>? Destinations, IReadOnlyList<RepositoryFilter>? RepositoryFilters = null);

/// <summary>The registry's replication configuration (ECR's ReplicationConfiguration): up to 10 rules.</summary>
/// <param name="Rules">The rules.</param>
public sealed record ReplicationConfiguration(IReadOnlyList<ReplicationRule>? Rules);

/// <summary>The body and the answer of PutReplicationConfiguration.</summary>
/// <param name="ReplicationConfiguration">The configuration (in answers, without passwords).</param>
public sealed record PutReplicationConfigurationRequest(ReplicationConfiguration? ReplicationConfiguration);

/// <summary>ECR's DescribeRegistry answer.</summary>
/// <param name="RegistryId">This registry's id (its host name and port as clients reach it).</param>
/// <param name="ReplicationConfiguration">Its replication configuration, without passwords (no rules when none is set).</param>
public sealed record DescribeRegistryResponse(string RegistryId, ReplicationConfiguration ReplicationConfiguration);

/// <summary>An image by digest or tag (ECR's ImageIdentifier).</summary>
/// <param name="ImageDigest">The manifest digest.</param>
/// <param name="ImageTag">A tag.</param>
public sealed record ImageIdentifier(string? ImageDigest, string? ImageTag);

/// <summary>An image's replication to one destination (ECR's ImageReplicationStatus, plus Berth's detail).</summary>
/// <param name="Region">The destination's region label.</param>
/// <param name="RegistryId">The destination.</param>
/// <param name="Status"><c>IN_PROGRESS</c>, <c>COMPLETE</c> or <c>FAILED</c>.</param>
/// <param name="FailureCode">Why the last attempt failed (kept while a retry is pending); null when none failed.</param>
/// <param name="Attempts">Attempts so far.</param>
/// <param name="NextAttemptAt">When the next attempt is due; null when complete.</param>
/// <param name="UpdatedAt">When the status last changed.</param>
public sealed record ImageReplicationStatus(
    string Region,
    string RegistryId,
    string Status,
    string? FailureCode,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset UpdatedAt);

/// <summary>ECR's DescribeImageReplicationStatus answer.</summary>
/// <param name="RepositoryName">The repository.</param>
/// <param name="ImageId">The image, by digest (and the tag asked for).</param>
/// <param name="ReplicationStatuses">One per destination the image was replicated to; empty when no rule matched its pushes.</param>
public sealed record DescribeImageReplicationStatusResponse(string RepositoryName, ImageIdentifier ImageId, IReadOnlyList<ImageReplicationStatus> ReplicationStatuses);

/// <summary>The JSON of the replication API, generated at compile time (camelCase, web defaults).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PutReplicationConfigurationRequest))]
[JsonSerializable(typeof(ReplicationConfiguration))]
[JsonSerializable(typeof(DescribeRegistryResponse))]
[JsonSerializable(typeof(DescribeImageReplicationStatusResponse))]
[JsonSerializable(typeof(RegistryErrorResponse))]
public sealed partial class ReplicationJsonContext : JsonSerializerContext;

namespace Berth.RegistryAdmin;

// The replication API (ReplicationApiPaths).
public sealed partial class RegistryAdminClient
{
    private static ReplicationJsonContext Replication => ReplicationJsonContext.Default;

    /// <summary>The registry and its replication configuration (ECR's DescribeRegistry).</summary>
    public Task<DescribeRegistryResponse> DescribeRegistryAsync(CancellationToken cancellationToken) =>
        GetAsync(ReplicationApiPaths.Registry, Replication.DescribeRegistryResponse, cancellationToken);

    /// <summary>Replaces the replication configuration (ECR's PutReplicationConfiguration); answers it without passwords.</summary>
    public Task<PutReplicationConfigurationRequest> PutReplicationConfigurationAsync(ReplicationConfiguration configuration, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Put,
            ReplicationApiPaths.Configuration,
            new PutReplicationConfigurationRequest(configuration),
            Replication.PutReplicationConfigurationRequest,
            Replication.PutReplicationConfigurationRequest,
            cancellationToken);

    /// <summary>An image's replication status per destination (ECR's DescribeImageReplicationStatus), by digest or tag.</summary>
    public Task<DescribeImageReplicationStatusResponse> DescribeImageReplicationStatusAsync(string repository, ImageIdentifier image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        var query = image.ImageDigest is { } digest ? $"imageDigest={Uri.EscapeDataString(digest)}" : $"imageTag={Uri.EscapeDataString(image.ImageTag ?? "")}";
        return GetAsync($"{ReplicationApiPaths.Status(repository)}?{query}", Replication.DescribeImageReplicationStatusResponse, cancellationToken);
    }
}

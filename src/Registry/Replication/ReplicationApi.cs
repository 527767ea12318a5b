using Berth.Registry.Repositories;
using Berth.Registry.Storage;
using Berth.RegistryAdmin;

namespace Berth.Registry.Replication;

/// <summary>
/// The replication part of the admin API (<see cref="ReplicationApiPaths"/>): ECR's PutReplicationConfiguration,
/// DescribeRegistry and DescribeImageReplicationStatus with ECR's shapes (destinations carry Berth's URL and
/// credentials; passwords are never shown). Refusals carry ECR's exception names in the admin API's error body.
/// </summary>
internal static class ReplicationApi
{
    public static RouteGroupBuilder MapReplicationApi(this RouteGroupBuilder admin)
    {
        admin.MapGet(ReplicationApiPaths.Registry[AdminApiPaths.Prefix.Length..], DescribeRegistry);
        admin.MapPut(ReplicationApiPaths.Configuration[AdminApiPaths.Prefix.Length..], PutAsync);
        admin.MapGet("/replication/status/{**repository}", StatusAsync);
        return admin;
    }

    private static IResult DescribeRegistry(HttpContext context, ReplicationConfigurationHolder configuration) =>
        Results.Json(
            new DescribeRegistryResponse(context.Request.Host.Value ?? "", configuration.Current.ToContract()),
            ReplicationJsonContext.Default.DescribeRegistryResponse);

    private static async Task<IResult> PutAsync(
        HttpContext context, ReplicationConfigurationHolder configuration, ReplicationStore store, IServiceProvider services, CancellationToken ct)
    {
        // Read by hand: a body that is not JSON of this shape gets ECR's error, not the framework's empty 400.
        PutReplicationConfigurationRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync(ReplicationJsonContext.Default.PutReplicationConfigurationRequest, ct);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return OperationsErrors.Error(StatusCodes.Status400BadRequest, "SerializationException", $"the body is not a PutReplicationConfiguration request: {e.Message}");
        }

        if (!ReplicationRulesParser.TryParse(request?.ReplicationConfiguration, out var rules, out var code, out var problem))
        {
            return OperationsErrors.Error(StatusCodes.Status400BadRequest, code, problem);
        }

        // Stored first: a configuration the caller saw accepted survives a restart.
        await store.SaveConfigurationAsync(rules.ToDocument(), ct);
        configuration.Set(rules);
        services.GetService<ReplicationWorker>()?.Wake();
        return Results.Json(new PutReplicationConfigurationRequest(rules.ToContract()), ReplicationJsonContext.Default.PutReplicationConfigurationRequest);
    }

    private static async Task<IResult> StatusAsync(
        string repository, string? imageDigest, string? imageTag, RegistryStore registry, ReplicationStore store, ReplicationConfigurationHolder configuration, CancellationToken ct)
    {
        if (!registry.TryGetRepository(repository, out var id))
        {
            return OperationsErrors.RepositoryNotFound(repository);
        }

        if ((imageDigest is null) == (imageTag is null))
        {
            return OperationsErrors.InvalidParameter("Invalid parameter at 'imageId': give exactly one of imageDigest and imageTag");
        }

        var reference = imageDigest ?? imageTag!;
        string digest;
        if (reference.Length is > 0 and <= 300 && registry.TryGetManifest(id, reference, out var manifest))
        {
            Span<char> formatted = stackalloc char[manifest.DigestLength];
            manifest.FormatDigest(formatted);
            digest = formatted.ToString();
        }
        else
        {
            return OperationsErrors.Error(
                StatusCodes.Status404NotFound,
                "ImageNotFoundException",
                $"The image with imageId {{imageDigest:'{imageDigest ?? "null"}', imageTag:'{imageTag ?? "null"}'}} does not exist within the repository with name '{repository}' in the registry");
        }

        var targets = configuration.Current.Rules.SelectMany(r => r.Targets).ToList();
        var statuses = await store.StatusesAsync(repository, digest, ct);
        return Results.Json(
            new DescribeImageReplicationStatusResponse(
                repository,
                new ImageIdentifier(digest, imageTag),
                [.. statuses.Select(s => new ImageReplicationStatus(
                    targets.FirstOrDefault(t => t.RegistryId == s.Destination)?.Region ?? "local",
                    s.Destination,
                    s.Status,
                    s.FailureCode,
                    s.Attempts,
                    s.NextAttemptAt is { } next ? new DateTimeOffset(next) : null,
                    new DateTimeOffset(s.UpdatedAt)))]),
            ReplicationJsonContext.Default.DescribeImageReplicationStatusResponse);
    }
}

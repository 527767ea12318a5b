using Berth.Registry.Repositories;
using Berth.RegistryAdmin;

namespace Berth.Registry.Images;

/// <summary><c>GET /api/v1/images/{repository}</c>: ECR's DescribeImages.</summary>
internal static class ImageApi
{
    public static RouteGroupBuilder MapImageApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/images/{**repository}", async (string repository, IImageMetadata images, CancellationToken ct) =>
            await images.ListImagesAsync(repository, ct) is { } list
                ? Results.Json(list.Select(ToContract).ToList(), RegistryOperationsJsonContext.Default.ListImageDetail)
                : OperationsErrors.RepositoryNotFound(repository));
        return admin;
    }

    private static ImageDetail ToContract(ImageRecord image) => new(
        image.Digest,
        image.Tags,
        image.Size,
        Utc(image.PushedAt),
        image.LastPulledAt is { } pulled ? Utc(pulled) : null,
        image.MediaType,
        image.ArtifactType);

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}

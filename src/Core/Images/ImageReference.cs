namespace Berth.Core.Images;

/// <summary>The parts of a Docker image reference (<c>[registry/]repository[:tag][@digest]</c>) that routing needs.</summary>
public static class ImageReference
{
    /// <summary>The registry Docker Hub references (<c>busybox</c>, <c>library/nginx</c>) resolve to.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>
    /// The registry host of <paramref name="image"/> as the Docker engine decides it: the first path component when it
    /// looks like a host (has a <c>.</c> or a <c>:</c>, or is <c>localhost</c>), otherwise Docker Hub.
    /// </summary>
    public static string RegistryHost(string image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return DockerHub;
        }

        var first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? first : DockerHub;
    }
}

using System.Collections.Concurrent;
using Berth.Core.Images;
using Docker.DotNet;

namespace Berth.Agent.Runtime;

/// <summary>
/// The digest a task report carries for a container's image, as ECS's <c>imageDigest</c>: the manifest digest the
/// registry served when the engine pulled the image (its repo digest), else the local image id. One image inspect per
/// image id and repository for the life of the agent: an image id names fixed content, so its digest never changes.
/// </summary>
internal sealed class ImageDigestResolver(DockerClient client)
{
    private static readonly string[] s_dockerHubHosts = [ImageReference.DockerHub, "index.docker.io", "registry-1.docker.io"];
    private readonly ConcurrentDictionary<(string ImageId, string Repository), string> _cache = new();

    public async Task<string> ResolveAsync(string imageId, string reference, CancellationToken cancellationToken)
    {
        // A reference pinned by digest names its manifest digest itself.
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at > 0 && reference[(at + 1)..].StartsWith("sha256:", StringComparison.Ordinal))
        {
            return reference[(at + 1)..];
        }

        var repository = RepositoryOf(reference);
        if (_cache.TryGetValue((imageId, repository), out var known))
        {
            return known;
        }

        IList<string> repoDigests;
        try
        {
            repoDigests = (await client.Images.InspectImageAsync(imageId, cancellationToken)).RepoDigests ?? [];
        }
        catch (DockerApiException)
        {
            // The image was removed under the container (docker rmi -f): say what the container itself knows.
            return imageId;
        }

        var digest = Pick(repoDigests, repository) ?? imageId;
        _cache[(imageId, repository)] = digest;
        return digest;
    }

    /// <summary>
    /// The repo digest of <paramref name="repository"/> (<c>repo@sha256:...</c>); null when the image never came from it
    /// (a digest it has from another repository was not what this container's reference resolved to).
    /// </summary>
    internal static string? Pick(IEnumerable<string> repoDigests, string repository)
    {
        foreach (var entry in repoDigests)
        {
            var at = entry.IndexOf('@', StringComparison.Ordinal);
            if (at > 0 && Normalize(entry[..at]) == repository)
            {
                return entry[(at + 1)..];
            }
        }

        return null;
    }

    /// <summary><c>127.0.0.1:5000/team/app:1</c> -> <c>127.0.0.1:5000/team/app</c>; Docker Hub names as the engine writes them.</summary>
    internal static string RepositoryOf(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? reference[..at] : reference;
        var colon = name.LastIndexOf(':');
        if (colon > name.LastIndexOf('/'))
        {
            name = name[..colon];
        }

        return Normalize(name);
    }

    // The engine lists Docker Hub repo digests without the registry host (`busybox@sha256:...`), and official images
    // without `library/`.
    private static string Normalize(string repository)
    {
        foreach (var hub in s_dockerHubHosts)
        {
            if (repository.StartsWith(hub + "/", StringComparison.Ordinal))
            {
                repository = repository[(hub.Length + 1)..];
                break;
            }
        }

        return repository.StartsWith("library/", StringComparison.Ordinal) ? repository["library/".Length..] : repository;
    }
}

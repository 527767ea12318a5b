using System.Net;
using System.Net.Http.Headers;
using Berth.Registry.Manifests;
using Berth.Registry.Remote;

namespace Berth.Registry.PullThrough;

/// <summary>The upstream refused or failed a request; cached content is served instead where there is some.</summary>
internal sealed class UpstreamException(string message) : RemoteRegistryException(message);

/// <summary>A manifest as the upstream sent it.</summary>
internal sealed record UpstreamManifest(byte[] Content, string? MediaType, string? Digest);

/// <summary>
/// The pull side of the distribution API against one upstream repository, with the rule's credentials
/// (<see cref="RemoteRegistrySession"/>, scope <c>repository:NAME:pull</c>; the token is kept for later requests).
/// </summary>
internal sealed class UpstreamClient(RemoteRegistrySession session, string repository, int maxManifestBytes)
{
    // Every manifest type the registry stores, as docker asks for them (schema 1 is not: it cannot be stored here).
    private static readonly string[] s_accept =
        [MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest];

    /// <summary>Where the tag points upstream (HEAD, as docker checks a tag), or null when the upstream does not have it.</summary>
    public async Task<string?> HeadManifestDigestAsync(string reference, CancellationToken cancellationToken)
    {
        using var response = await session.SendAsync(() => ManifestRequest(HttpMethod.Head, reference), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await session.RefusedAsync($"HEAD manifest {repository}:{reference}", response, cancellationToken);
        }

        // No digest header (allowed by the spec): the caller fetches the manifest and hashes it.
        return response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() ?? "" : "";
    }

    /// <summary>The manifest, or null when the upstream does not have it.</summary>
    public async Task<UpstreamManifest?> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        using var response = await session.SendAsync(() => ManifestRequest(HttpMethod.Get, reference), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await session.RefusedAsync($"GET manifest {repository}:{reference}", response, cancellationToken);
        }

        if (response.Content.Headers.ContentLength > maxManifestBytes)
        {
            throw new UpstreamException($"{repository}:{reference} upstream is {response.Content.Headers.ContentLength} bytes, over this registry's manifest limit of {maxManifestBytes}");
        }

        var content = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var digest = response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        return new UpstreamManifest(content, response.Content.Headers.ContentType?.MediaType, digest);
    }

    /// <summary>The blob's response with its headers read (the caller streams the body and disposes it), or null on a 404.</summary>
    public async Task<HttpResponseMessage?> GetBlobAsync(string digest, CancellationToken cancellationToken)
    {
        var response = await session.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, session.Path(repository, $"blobs/{digest}")), cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            return response.StatusCode == HttpStatusCode.NotFound
                ? null
                : throw await session.RefusedAsync($"GET blob {repository}@{digest}", response, cancellationToken);
        }
    }

    private HttpRequestMessage ManifestRequest(HttpMethod method, string reference)
    {
        var request = new HttpRequestMessage(method, session.Path(repository, $"manifests/{reference}"));
        foreach (var type in s_accept)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        return request;
    }
}

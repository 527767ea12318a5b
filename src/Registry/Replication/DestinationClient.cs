using System.Net;
using System.Net.Http.Headers;
using Berth.Registry.Remote;

namespace Berth.Registry.Replication;

/// <summary>A destination refused or failed a step of a copy; the message is the status's reason.</summary>
internal sealed class ReplicationException(string message) : RemoteRegistryException(message);

/// <summary>
/// The push side of the OCI distribution API against one destination registry and repository, with the destination's
/// credentials (<see cref="RemoteRegistrySession"/>, scope <c>repository:NAME:pull,push</c>), authenticated once per
/// copy and again on a 401.
/// </summary>
internal sealed class DestinationClient(HttpClient http, ReplicationTarget target, string repository)
{
    private readonly RemoteRegistrySession _session = new(
        http, target.Url, target.RegistryId, target.Username, target.Password, $"repository:{repository}:pull,push", message => new ReplicationException(message));

    /// <summary>Whether the destination has the blob (HEAD: the spec's existence check).</summary>
    public async Task<bool> HasBlobAsync(string digest, CancellationToken cancellationToken)
    {
        using var response = await _session.SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Path($"blobs/{digest}")), cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await _session.RefusedAsync("HEAD blob " + digest, response, cancellationToken),
        };
    }

    /// <summary>Uploads a blob monolithically: POST opens the upload, one PUT with <c>?digest=</c> carries every byte.</summary>
    public async Task PushBlobAsync(string digest, long size, Func<CancellationToken, Task<Stream>> open, CancellationToken cancellationToken)
    {
        Uri location;
        using (var started = await _session.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Path("blobs/uploads/")), cancellationToken))
        {
            if (started.StatusCode != HttpStatusCode.Accepted || started.Headers.Location is not { } where)
            {
                throw await _session.RefusedAsync("POST upload for " + digest, started, cancellationToken);
            }

            location = where.IsAbsoluteUri ? where : new Uri(target.Url, where);
        }

        // Location may carry a query (distribution's _state): the digest is appended to it (REGISTRY-WIRE.md).
        var put = new Uri(location + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest));
        var content = await open(cancellationToken);
        await using (content)
        {
            // A 401 on the PUT would need the body again: the token was fetched for this copy, so it is not expected.
            using var request = new HttpRequestMessage(HttpMethod.Put, put) { Content = new StreamContent(content) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Content.Headers.ContentLength = size;
            request.Headers.Authorization = _session.Authorization;
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw await _session.RefusedAsync("PUT blob " + digest, response, cancellationToken);
            }
        }
    }

    /// <summary>PUTs a manifest under <paramref name="reference"/> (a tag or its digest) with its media type, byte for byte.</summary>
    public async Task PutManifestAsync(string reference, byte[] content, string mediaType, CancellationToken cancellationToken)
    {
        using var response = await _session.SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, Path($"manifests/{reference}")) { Content = new ByteArrayContent(content) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
                return request;
            },
            cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await _session.RefusedAsync("PUT manifest " + reference, response, cancellationToken);
        }
    }

    private Uri Path(string rest) => _session.Path(repository, rest);
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Berth.Registry.Replication;

/// <summary>A destination refused or failed a step of a copy; the message is the status's reason.</summary>
internal sealed class ReplicationException(string message) : Exception(message);

/// <summary>
/// The push side of the OCI distribution API against one destination registry and repository, with the destination's
/// credentials: Basic when the registry asks for Basic, else a bearer token from the realm its challenge names
/// (Docker's token protocol, scope <c>repository:NAME:pull,push</c>), fetched once per copy and again on a 401.
/// </summary>
internal sealed class DestinationClient(HttpClient http, ReplicationTarget target, string repository)
{
    private AuthenticationHeaderValue? _authorization;

    /// <summary>Whether the destination has the blob (HEAD: the spec's existence check).</summary>
    public async Task<bool> HasBlobAsync(string digest, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Path($"blobs/{digest}")), cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            _ => throw await RefusedAsync("HEAD blob " + digest, response, cancellationToken),
        };
    }

    /// <summary>Uploads a blob monolithically: POST opens the upload, one PUT with <c>?digest=</c> carries every byte.</summary>
    public async Task PushBlobAsync(string digest, long size, Func<CancellationToken, Task<Stream>> open, CancellationToken cancellationToken)
    {
        Uri location;
        using (var started = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Path("blobs/uploads/")), cancellationToken))
        {
            if (started.StatusCode != HttpStatusCode.Accepted || started.Headers.Location is not { } where)
            {
                throw await RefusedAsync("POST upload for " + digest, started, cancellationToken);
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
            request.Headers.Authorization = _authorization;
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw await RefusedAsync("PUT blob " + digest, response, cancellationToken);
            }
        }
    }

    /// <summary>PUTs a manifest under <paramref name="reference"/> (a tag or its digest) with its media type, byte for byte.</summary>
    public async Task PutManifestAsync(string reference, byte[] content, string mediaType, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, Path($"manifests/{reference}")) { Content = new ByteArrayContent(content) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
                return request;
            },
            cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw await RefusedAsync("PUT manifest " + reference, response, cancellationToken);
        }
    }

    private Uri Path(string rest) => new(target.Url, $"v2/{repository}/{rest}");

    // Sends with the current authorization; on a 401 authenticates as the challenge says and sends once more.
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        using (var first = create())
        {
            first.Headers.Authorization = _authorization;
            var response = await http.SendAsync(first, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                return response;
            }

            using (response)
            {
                _authorization = await AuthenticateAsync(response.Headers.WwwAuthenticate, cancellationToken);
            }
        }

        using var second = create();
        second.Headers.Authorization = _authorization;
        return await http.SendAsync(second, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(HttpHeaderValueCollection<AuthenticationHeaderValue> challenges, CancellationToken cancellationToken)
    {
        if (target.Username is null || target.Password is null)
        {
            throw new ReplicationException($"{target.RegistryId} asks for credentials and the destination has none configured");
        }

        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{target.Username}:{target.Password}")));
        var bearer = challenges.FirstOrDefault(c => string.Equals(c.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer?.Parameter is not { } parameter)
        {
            return basic;
        }

        var fields = ParseChallenge(parameter);
        if (!fields.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw new ReplicationException($"{target.RegistryId} sent a Bearer challenge without a usable realm");
        }

        var query = new StringBuilder("?scope=").Append(Uri.EscapeDataString($"repository:{repository}:pull,push"));
        if (fields.TryGetValue("service", out var service))
        {
            query.Append("&service=").Append(Uri.EscapeDataString(service));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(realmUri, realmUri.AbsolutePath + query));
        request.Headers.Authorization = basic;
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusedAsync("token request", response, cancellationToken);
        }

        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
        var token = json.RootElement.TryGetProperty("token", out var t) ? t.GetString()
            : json.RootElement.TryGetProperty("access_token", out var a) ? a.GetString() : null;
        return token is { Length: > 0 }
            ? new AuthenticationHeaderValue("Bearer", token)
            : throw new ReplicationException($"{target.RegistryId}'s token endpoint answered without a token");
    }

    // key="value" pairs, comma-separated; values may hold commas (scope lists), so quotes are honoured.
    private static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            var equals = parameter.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var key = parameter[i..equals].Trim(' ', ',');
            i = equals + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                end = end < 0 ? parameter.Length : end;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end];
                i = end;
            }

            fields[key] = value;
        }

        return fields;
    }

    private async Task<ReplicationException> RefusedAsync(string step, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return new ReplicationException($"{target.RegistryId} refused {step}: {(int)response.StatusCode} {response.ReasonPhrase} {(body.Length > 300 ? body[..300] : body)}".TrimEnd());
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Core.Networking;

namespace Berth.Registry.Remote;

/// <summary>Another registry refused or failed a step; the message names the registry, the step and its answer.</summary>
internal class RemoteRegistryException(string message) : Exception(message);

/// <summary>
/// Requests to another registry's distribution API for one repository, with that registry's credentials, as docker
/// sends them: Basic when the registry asks for Basic, else a bearer token from the realm its challenge names
/// (Docker's token protocol, with <paramref name="scope"/>), fetched on the first 401 and again on a later one. Without
/// credentials a Bearer challenge is answered with an anonymous token request (public images on Docker Hub, GHCR and
/// any registry with anonymous pull). Used by replication (push) and the pull-through cache (pull).
/// </summary>
/// <param name="name">The registry's name in messages (replication's registry id, the cache rule's URL).</param>
/// <param name="fail">Makes the exception the caller's own code expects for a refusal.</param>
internal sealed class RemoteRegistrySession(
    HttpClient http, Uri baseUrl, string name, string? username, string? password, string scope, Func<string, Exception> fail)
{
    private AuthenticationHeaderValue? _authorization;

    public Uri BaseUrl => baseUrl;

    /// <summary>The authorization the session holds now (for a request that cannot be repeated, such as a streamed PUT).</summary>
    public AuthenticationHeaderValue? Authorization => _authorization;

    /// <summary><c>/v2/REPOSITORY/rest</c> on the registry.</summary>
    public Uri Path(string repository, string rest) => new(baseUrl, $"v2/{repository}/{rest}");

    /// <summary>Sends with the current authorization; on a 401 authenticates as the challenge says and sends once more.</summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
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

    /// <summary>The exception for a refused step, with the start of the registry's answer.</summary>
    public async Task<Exception> RefusedAsync(string step, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return fail($"{name} refused {step}: {(int)response.StatusCode} {response.ReasonPhrase} {(body.Length > 300 ? body[..300] : body)}".TrimEnd());
    }

    private async Task<AuthenticationHeaderValue> AuthenticateAsync(HttpHeaderValueCollection<AuthenticationHeaderValue> challenges, CancellationToken cancellationToken)
    {
        var basic = username is not null && password is not null
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")))
            : null;
        var bearer = challenges.FirstOrDefault(c => string.Equals(c.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearer?.Parameter is not { } parameter)
        {
            return basic ?? throw fail($"{name} asks for credentials and none are configured for it");
        }

        // RFC 7235 auth-params: the scope list's commas sit inside quotes.
        if (!AuthChallenge.TryParseParameters(parameter, out var fields) || !fields.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw fail($"{name} sent a Bearer challenge without a usable realm");
        }

        var query = new StringBuilder("?scope=").Append(Uri.EscapeDataString(scope));
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
            : throw fail($"{name}'s token endpoint answered without a token");
    }
}

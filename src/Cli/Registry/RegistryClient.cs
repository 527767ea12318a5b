using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Cli.Common;
using Berth.Core.Networking;
using Berth.RegistryAdmin;

namespace Berth.Cli.Registry;

/// <summary>
/// The registry over HTTP: the Docker v2 API (catalog, tags, manifest delete) with the Docker token flow, and the
/// admin API under <c>/api/v1</c> through its shared typed client (<see cref="Admin"/>), with Basic credentials.
/// Errors come back as the registry's own message.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _username;
    private readonly string? _password;

    public RegistryClient(Uri registry, string? username, string? password)
    {
        _http = new HttpClient { BaseAddress = registry, Timeout = TimeSpan.FromSeconds(60) };
        _username = username;
        _password = password;
        Address = registry;
        Admin = new RegistryAdminClient(_http, username, password);
    }

    public Uri Address { get; }

    /// <summary>The admin API (users, robots, permissions, public namespaces); refusals are <see cref="RegistryApiException"/>.</summary>
    public RegistryAdminClient Admin { get; }

    /// <summary>Repository names the caller may pull, all pages.</summary>
    public async Task<List<string>> CatalogAsync(CancellationToken ct)
    {
        var names = new List<string>();
        string? next = "/v2/_catalog?n=1000";
        while (next is not null)
        {
            using var response = await SendV2Async(HttpMethod.Get, next, "registry:catalog:*", ct);
            var body = await ReadJsonAsync(response, ct);
            names.AddRange((body?["repositories"]?.AsArray() ?? []).Select(n => (string)n!));
            next = NextLink(response);
        }

        return names;
    }

    /// <summary>The tags of <paramref name="repository"/>, all pages.</summary>
    public async Task<List<string>> TagsAsync(string repository, CancellationToken ct)
    {
        var tags = new List<string>();
        string? next = $"/v2/{repository}/tags/list?n=1000";
        while (next is not null)
        {
            using var response = await SendV2Async(HttpMethod.Get, next, $"repository:{repository}:pull", ct);
            var body = await ReadJsonAsync(response, ct);
            tags.AddRange((body?["tags"]?.AsArray() ?? []).Select(n => (string)n!));
            next = NextLink(response);
        }

        return tags;
    }

    /// <summary>Deletes a tag (<c>repo:tag</c>) or a manifest (<c>repo@sha256:...</c>).</summary>
    public async Task DeleteAsync(string repository, string reference, CancellationToken ct)
    {
        using var response = await SendV2Async(HttpMethod.Delete, $"/v2/{repository}/manifests/{reference}", $"repository:{repository}:delete", ct);
        await ReadJsonAsync(response, ct);
    }

    /// <summary>Checks the credentials: a token for the catalog is issued only to a known user or robot.</summary>
    public async Task VerifyLoginAsync(CancellationToken ct)
    {
        using var response = await SendV2Async(HttpMethod.Get, "/v2/", "registry:catalog:*", ct);
        await ReadJsonAsync(response, ct);
    }

    public void Dispose() => _http.Dispose();

    private string? _token;

    /// <summary>Sends a v2 request; on a Bearer challenge fetches a token for <paramref name="scope"/> and retries once.</summary>
    private async Task<HttpResponseMessage> SendV2Async(HttpMethod method, string path, string scope, CancellationToken ct)
    {
        var response = await SendAsync(method, path, ct);
        if (response.StatusCode != HttpStatusCode.Unauthorized
            || response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) is not { } challenge)
        {
            return response;
        }

        response.Dispose();
        _token = await FetchTokenAsync(challenge, scope, ct);
        return await SendAsync(method, path, ct);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        request.Headers.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        request.Headers.Accept.ParseAdd("application/json");
        return await _http.SendAsync(request, ct);
    }

    private async Task<string> FetchTokenAsync(AuthenticationHeaderValue challenge, string scope, CancellationToken ct)
    {
        // RFC 7235 auth-params: the scope list's commas sit inside quotes.
        if (!AuthChallenge.TryParseParameters(challenge.Parameter, out var parameters) || !parameters.TryGetValue("realm", out var realm))
        {
            throw new CliException($"the registry at {Address} sent a Bearer challenge without a realm.");
        }

        if (_username is null || _password is null)
        {
            throw new CliException($"the registry at {Address} needs credentials. Log in with `berth login --registry {Address} --username NAME --password-stdin` (`berth up` logs you in by itself).");
        }

        var query = $"?service={Uri.EscapeDataString(parameters.GetValueOrDefault("service", string.Empty))}&scope={Uri.EscapeDataString(scope)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, realm + query);
        request.Headers.Authorization = Basic();
        using var response = await _http.SendAsync(request, ct);
        var body = await ReadJsonAsync(response, ct);
        return (string?)body?["token"] ?? (string?)body?["access_token"]
            ?? throw new CliException($"the registry's token endpoint {realm} answered without a token.");
    }

    private AuthenticationHeaderValue? Basic() =>
        _username is null || _password is null
            ? null
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password}")));

    /// <summary>Reads a JSON body, or throws the registry's error as a sentence.</summary>
    private async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode)
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }

        string message;
        try
        {
            var errors = JsonNode.Parse(text)?["errors"]?.AsArray();
            message = errors is { Count: > 0 }
                ? string.Join("; ", errors.Select(e => $"{(string?)e?["code"]}: {(string?)e?["message"]}"))
                : text;
        }
        catch (JsonException)
        {
            message = text.Length > 0 ? text : response.ReasonPhrase ?? string.Empty;
        }

        throw new CliException(ErrorMessages.ForRegistry((int)response.StatusCode, message.Trim(), Address));
    }

    /// <summary>The next page from a <c>Link: &lt;url&gt;; rel="next"</c> header.</summary>
    private static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }

        var link = links.FirstOrDefault(l => l.Contains("rel=\"next\"", StringComparison.Ordinal));
        return link is null ? null : link[(link.IndexOf('<', StringComparison.Ordinal) + 1)..link.IndexOf('>', StringComparison.Ordinal)];
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Berth.Registry.Tests.Conformance;

/// <summary>How a conformance client treats bearer tokens.</summary>
public enum TokenMode
{
    /// <summary>The registry runs without auth; no token is ever asked for.</summary>
    None,

    /// <summary>
    /// Every request starts without a token; a 401 is answered by fetching one for exactly the challenge's scope and
    /// sending the request once more (the v1.1.1 suite's client, reggie, works this way).
    /// </summary>
    PerRequest,

    /// <summary>
    /// Tokens are kept per host, repository and request class (pull for GET/HEAD, push for POST/PATCH/PUT, the method
    /// otherwise) and sent with later requests of that class; a 401 fetches a new one for the challenge's scope and
    /// retries once (the main-branch suite's default). A kept token may lack a scope a later request needs, which is
    /// what insufficient_scope challenges are for.
    /// </summary>
    Cached,
}

/// <summary>One request and its final answer, with the challenges met on the way (for assertions and failure messages).</summary>
public sealed record Exchange(HttpMethod Method, string PathAndQuery, HttpStatusCode Status, IReadOnlyList<string> Challenges);

/// <summary>
/// Follows Bearer challenges the way the OCI conformance clients do: the token request carries the challenge's
/// <c>service</c> and <c>scope</c> (one parameter, however many scopes it names) and Basic credentials, and the
/// original request is sent once more with the token. Nothing here knows the registry's scopes: whatever a request
/// needs, the challenge must say.
/// </summary>
public sealed class ChallengeFollowingHandler(string? user, string? secret, TokenMode mode) : DelegatingHandler
{
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly List<Exchange> _exchanges = [];

    /// <summary>Every request sent so far, in order.</summary>
    public IReadOnlyList<Exchange> Exchanges
    {
        get
        {
            lock (_exchanges)
            {
                return [.. _exchanges];
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The body is kept so that the request can be sent a second time after a challenge.
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var key = CacheKey(request);
        string? token;
        lock (_tokens)
        {
            _tokens.TryGetValue(key, out token);
        }

        var response = await base.SendAsync(Copy(request, body, mode == TokenMode.Cached ? token : null), cancellationToken);
        var challenges = new List<string>();
        if (response.StatusCode == HttpStatusCode.Unauthorized && mode != TokenMode.None
            && response.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) is { } challenge)
        {
            challenges.Add(challenge.ToString());
            token = await FetchTokenAsync(Parameters(challenge.Parameter ?? string.Empty), cancellationToken);
            lock (_tokens)
            {
                _tokens[key] = token;
            }

            response.Dispose();
            response = await base.SendAsync(Copy(request, body, token), cancellationToken);
            if (response.Headers.WwwAuthenticate.FirstOrDefault() is { } second)
            {
                challenges.Add(second.ToString());
            }
        }

        lock (_exchanges)
        {
            _exchanges.Add(new Exchange(request.Method, request.RequestUri!.PathAndQuery, response.StatusCode, challenges));
        }

        return response;
    }

    private async Task<string> FetchTokenAsync(Dictionary<string, string> challenge, CancellationToken cancellationToken)
    {
        var query = new StringBuilder("?service=").Append(Uri.EscapeDataString(challenge.GetValueOrDefault("service", string.Empty)));
        if (challenge.TryGetValue("scope", out var scope))
        {
            query.Append("&scope=").Append(Uri.EscapeDataString(scope));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, challenge["realm"] + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{secret}")));
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await base.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"the token endpoint answered {(int)response.StatusCode}: {text}");
        }

        using var json = JsonDocument.Parse(text);
        return json.RootElement.TryGetProperty("token", out var t) ? t.GetString()! : json.RootElement.GetProperty("access_token").GetString()!;
    }

    private static HttpRequestMessage Copy(HttpRequestMessage original, byte[]? body, string? token)
    {
        var copy = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
        foreach (var (name, values) in original.Headers)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var (name, values) in original.Content!.Headers)
            {
                copy.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        if (token is not null)
        {
            copy.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return copy;
    }

    /// <summary>The challenge's <c>key="value"</c> pairs.</summary>
    private static Dictionary<string, string> Parameters(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var rest = parameter.AsSpan();
        while (true)
        {
            var equals = rest.IndexOf("=\"", StringComparison.Ordinal);
            if (equals < 0)
            {
                return result;
            }

            var name = rest[..equals].TrimStart(", ").ToString();
            rest = rest[(equals + 2)..];
            var close = rest.IndexOf('"');
            if (close < 0)
            {
                return result;
            }

            result[name] = rest[..close].ToString();
            rest = rest[(close + 1)..];
        }
    }

    /// <summary>Host, repository and request class, as the main-branch suite keys its kept tokens.</summary>
    private static string CacheKey(HttpRequestMessage request)
    {
        var path = request.RequestUri!.AbsolutePath;
        var repository = string.Empty;
        if (path.StartsWith("/v2/", StringComparison.Ordinal) && path.Length > 4)
        {
            var rest = path[4..];
            foreach (var marker in new[] { "/blobs/", "/manifests/", "/tags/", "/referrers/" })
            {
                var at = rest.LastIndexOf(marker, StringComparison.Ordinal);
                if (at > 0)
                {
                    repository = rest[..at];
                    break;
                }
            }
        }

        var method = request.Method.Method;
        var kind = method is "GET" or "HEAD" ? "pull" : method is "POST" or "PATCH" or "PUT" ? "push" : method;
        return $"{request.RequestUri.Host}:{repository}:{kind}";
    }
}

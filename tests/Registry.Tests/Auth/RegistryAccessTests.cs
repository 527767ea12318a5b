using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Berth.Core.Images;

namespace Berth.Registry.Tests.Auth;

/// <summary>The registry API under token auth: challenges, scope enforcement, mounts, catalog visibility.</summary>
public sealed class RegistryAccessTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();
    private readonly HttpClient _client;

    public RegistryAccessTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Base_WithoutToken_ChallengesWithTheTokenRealm()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        Assert.Equal("Bearer realm=\"http://localhost/auth/token\",service=\"berth-registry\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("UNAUTHORIZED", await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task Base_WithAnyValidToken_Is200()
    {
        var token = await TokenAsync("admin", _factory.AdminPassword);

        using var response = await SendAsync(HttpMethod.Get, "/v2/", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Pull_WithoutToken_ChallengesForTheRepositoryScope()
    {
        using var response = await _client.GetAsync("/v2/team-a/app/manifests/latest");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("scope=\"repository:team-a/app:pull\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullOnlyRobot_CannotPush_AndGets401InsufficientScope()
    {
        var secret = await CreateRobotAsync("puller", ("team-a/*", ["pull"]));
        var token = await TokenAsync("robot$puller", secret, "repository:team-a/app:pull,push");

        using var response = await SendAsync(HttpMethod.Post, "/v2/team-a/app/blobs/uploads/", token);

        // RFC 6750: insufficient_scope is a 401 with the needed scope in the challenge, so that clients re-authenticate.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("DENIED", await ErrorCodeAsync(response));
        Assert.Contains("error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("scope=\"repository:team-a/app:pull,push\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PushRobotOnTeamA_CannotTouchTeamB()
    {
        var secret = await CreateRobotAsync("team-a-ci", ("team-a/*", ["pull", "push"]));
        var token = await TokenAsync("robot$team-a-ci", secret, "repository:team-a/app:pull,push", "repository:team-b/app:pull,push");
        var blob = Encoding.UTF8.GetBytes("layer of team a");

        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-a/app", blob, token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PushBlobAsync("team-b/app", blob, token)).StatusCode);
        using var head = await SendAsync(HttpMethod.Head, $"/v2/team-b/app/blobs/{Digest.Compute(blob)}", token);
        Assert.Equal(HttpStatusCode.Unauthorized, head.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", head.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mount_FromRepositoryTheCallerCannotRead_FallsBackToAnUpload()
    {
        var admin = await TokenAsync("admin", _factory.AdminPassword, "repository:team-a/secret:pull,push");
        var blob = Encoding.UTF8.GetBytes("team a's secret layer");
        var digest = Digest.Compute(blob);
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-a/secret", blob, admin)).StatusCode);

        var secret = await CreateRobotAsync("team-b-ci", ("team-b/*", ["pull", "push"]));
        var token = await TokenAsync("robot$team-b-ci", secret, "repository:team-b/app:pull,push", "repository:team-a/secret:pull");
        using var mount = await SendAsync(HttpMethod.Post, $"/v2/team-b/app/blobs/uploads/?mount={digest}&from=team-a/secret", token);

        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.False(mount.Headers.Contains("WWW-Authenticate"));
        using var head = await SendAsync(HttpMethod.Head, $"/v2/team-b/app/blobs/{digest}", token);
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task Mount_FromReadableRepository_Mounts()
    {
        var secret = await CreateRobotAsync("both", ("team-a/*", ["pull", "push"]));
        var token = await TokenAsync("robot$both", secret, "repository:team-a/one:pull,push", "repository:team-a/two:pull,push");
        var blob = Encoding.UTF8.GetBytes("shared base layer");
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-a/one", blob, token)).StatusCode);

        using var mount = await SendAsync(HttpMethod.Post, $"/v2/team-a/two/blobs/uploads/?mount={Digest.Compute(blob)}&from=team-a/one", token);

        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
    }

    [Fact]
    public async Task Delete_NeedsTheDeleteAction()
    {
        var secret = await CreateRobotAsync("pusher", ("team-a/*", ["pull", "push"]));
        var token = await TokenAsync("robot$pusher", secret, "repository:team-a/app:pull,push,delete");
        var blob = Encoding.UTF8.GetBytes("to be deleted");
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-a/app", blob, token)).StatusCode);

        using var response = await SendAsync(HttpMethod.Delete, $"/v2/team-a/app/blobs/{Digest.Compute(blob)}", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("DENIED", await ErrorCodeAsync(response));
        Assert.Contains("scope=\"repository:team-a/app:delete\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Catalog_ListsOnlyWhatTheCallerMayPull()
    {
        var admin = await TokenAsync("admin", _factory.AdminPassword, "repository:team-a/app:pull,push", "repository:team-b/app:pull,push");
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-a/app", [1], admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("team-b/app", [2], admin)).StatusCode);
        await PutManifestAsync("team-a/app", [1], admin);
        await PutManifestAsync("team-b/app", [2], admin);
        var secret = await CreateRobotAsync("lister", ("team-a/*", ["pull"]));

        var robotToken = await TokenAsync("robot$lister", secret, "registry:catalog:*");
        var adminToken = await TokenAsync("admin", _factory.AdminPassword, "registry:catalog:*");
        using var withoutScope = await SendAsync(HttpMethod.Get, "/v2/_catalog", await TokenAsync("robot$lister", secret));

        Assert.Equal(["team-a/app"], await RepositoriesAsync(robotToken));
        Assert.Equal(["team-a/app", "team-b/app"], await RepositoriesAsync(adminToken));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutScope.StatusCode);
        Assert.Contains("scope=\"registry:catalog:*\",error=\"insufficient_scope\"", withoutScope.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublicNamespace_IsPullableWithoutAnyToken_AndOnlyPullable()
    {
        var admin = await TokenAsync("admin", _factory.AdminPassword, "repository:public/tool:pull,push", "repository:private/tool:pull,push");
        var blob = Encoding.UTF8.GetBytes("public layer");
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("public/tool", blob, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PushBlobAsync("private/tool", blob, admin)).StatusCode);
        using var makePublic = new HttpRequestMessage(HttpMethod.Put, "/api/v1/public-namespaces") { Content = JsonContent.Create(new { pattern = "public/*" }) };
        makePublic.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.SendAsync(makePublic)).StatusCode);

        using var publicPull = await _client.GetAsync($"/v2/public/tool/blobs/{Digest.Compute(blob)}");
        using var privatePull = await _client.GetAsync($"/v2/private/tool/blobs/{Digest.Compute(blob)}");
        using var anonymousPush = await _client.PostAsync("/v2/public/tool/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.OK, publicPull.StatusCode);
        Assert.Equal(blob, await publicPull.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, privatePull.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousPush.StatusCode);
    }

    [Fact]
    public async Task ExpiredToken_IsRefused_ButAPushThatStartedInTimeIsNotCutOff()
    {
        var token = await TokenAsync("admin", _factory.AdminPassword, "repository:app:pull,push");
        using var start = await SendAsync(HttpMethod.Post, "/v2/app/blobs/uploads/", token);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = start.Headers.Location!;

        _factory.Time.Advance(TimeSpan.FromMinutes(10));

        using var late = await SendAsync(HttpMethod.Head, "/v2/app/blobs/" + Digest.Compute([9]), token);
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
        // The client refreshes (as docker does) and finishes the upload it began with the old token.
        var fresh = await TokenAsync("admin", _factory.AdminPassword, "repository:app:pull,push");
        using var finish = await SendAsync(HttpMethod.Put, $"{location}&digest={Digest.Compute([9])}", fresh, new ByteArrayContent([9]));
        Assert.Equal(HttpStatusCode.Created, finish.StatusCode);
    }

    [Theory]
    [InlineData("Bearer not-a-jwt")]
    [InlineData("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImF1ZCI6ImJlcnRoLXJlZ2lzdHJ5IiwiaXNzIjoiYmVydGgtcmVnaXN0cnkiLCJleHAiOjQxMDI0NDQ4MDAsImFjY2VzcyI6W3sidHlwZSI6InJlcG9zaXRvcnkiLCJuYW1lIjoiYXBwIiwiYWN0aW9ucyI6WyJwdXNoIl19XX0.")]
    [InlineData("Bearer ")]
    [InlineData("Basic YWRtaW46YWRtaW4=")]
    public async Task MalformedOrForgedCredentials_AreUnauthorized_AndNothingIsStored(string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/app/blobs/uploads/?digest={Digest.Compute([7])}") { Content = new ByteArrayContent([7]) };
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var admin = await TokenAsync("admin", _factory.AdminPassword, "repository:app:pull");
        using var head = await SendAsync(HttpMethod.Head, $"/v2/app/blobs/{Digest.Compute([7])}", admin);
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task OpenUploadSessions_AreLimitedPerClient()
    {
        using var factory = new AuthRegistryFactory();
        factory.Settings["Registry:MaxUploadsPerClient"] = "3";
        using var client = factory.CreateClient();
        async Task<HttpResponseMessage> Send(HttpMethod method, string path, string token)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await client.SendAsync(request);
        }

        var admin = await AuthRegistryFactory.TokenAsync(client, "admin", factory.AdminPassword, "repository:app:pull,push");
        var locations = new List<Uri>();
        for (var i = 0; i < 3; i++)
        {
            using var started = await Send(HttpMethod.Post, "/v2/app/blobs/uploads/", admin);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            locations.Add(started.Headers.Location!);
        }

        using var refused = await Send(HttpMethod.Post, "/v2/app/blobs/uploads/", admin);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("TOOMANYREQUESTS", await ErrorCodeAsync(refused));

        using var cancelled = await Send(HttpMethod.Delete, locations[0].PathAndQuery, admin);
        Assert.Equal(HttpStatusCode.NoContent, cancelled.StatusCode);
        using var again = await Send(HttpMethod.Post, "/v2/app/blobs/uploads/", admin);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
    }

    private async Task<string> CreateRobotAsync(string name, params (string Pattern, string[] Actions)[] permissions)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/robots")
        {
            Content = JsonContent.Create(new { name, permissions = permissions.Select(p => new { pattern = p.Pattern, actions = p.Actions }) }),
        };
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
    }

    private Task<string> TokenAsync(string user, string password, params string[] scopes) =>
        AuthRegistryFactory.TokenAsync(_client, user, password, scopes);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await _client.SendAsync(request);
    }

    private Task<HttpResponseMessage> PushBlobAsync(string repository, byte[] blob, string token) =>
        SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={Digest.Compute(blob)}", token, new ByteArrayContent(blob));

    private async Task PutManifestAsync(string repository, byte[] configBlob, string token)
    {
        var manifest = $$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{Digest.Compute(configBlob)}}","size":{{configBlob.Length}}},"layers":[]}""";
        var content = new StringContent(manifest, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
        using var response = await SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/v1", token, content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<List<string>> RepositoriesAsync(string token)
    {
        using var response = await SendAsync(HttpMethod.Get, "/v2/_catalog", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("repositories").EnumerateArray().Select(r => r.GetString()!)];
    }

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0].GetProperty("code").GetString();
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Registry.Auth.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Berth.Registry.Tests.Auth;

public sealed class TokenEndpointTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();
    private readonly HttpClient _client;

    public TokenEndpointTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public void FirstStart_CreatesAdminWithPasswordFileOnlyTheOwnerCanRead()
    {
        var file = Path.Combine(_factory.DataDir, "initial-admin-password");

        Assert.True(File.Exists(file));
        Assert.True(_factory.AdminPassword.Length >= 40);
        Assert.True(OperatingSystem.IsLinux());
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Get_DockerLoginRequest_ReturnsTokenAndRefreshToken()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?account=admin&client_id=docker&offline_token=true&service=berth-registry");
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(body.GetProperty("token").GetString(), body.GetProperty("access_token").GetString());
        Assert.Equal(300, body.GetProperty("expires_in").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("refresh_token").GetString()));
        Assert.Equal("admin", new JsonWebToken(body.GetProperty("token").GetString()).Subject);
    }

    [Fact]
    public async Task Get_WithoutOfflineToken_HasNoRefreshToken()
    {
        var body = await GetTokenAsync("admin", _factory.AdminPassword, "repository:app:pull");

        Assert.False(body.TryGetProperty("refresh_token", out _));
    }

    [Fact]
    public async Task Get_WrongPassword_Is401InTheSpecFormat()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?service=berth-registry");
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", "not-the-password");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("UNAUTHORIZED", body.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Get_UnknownUserAndGarbageHeader_Are401()
    {
        foreach (var header in new[] { AuthRegistryFactory.Basic("nobody", "whatever-password"), new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "%%%not-base64") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
            request.Headers.Authorization = header;
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task RepeatedFailures_AreThrottledWith429AndRetryAfter_EvenForTheRightPassword()
    {
        for (var i = 0; i < 10; i++)
        {
            using var bad = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
            bad.Headers.Authorization = AuthRegistryFactory.Basic("admin", $"guess-{i}");
            using var refused = await _client.SendAsync(bad);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("TOOMANYREQUESTS", body.GetProperty("errors")[0].GetProperty("code").GetString());

        _factory.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("admin", new JsonWebToken((await GetTokenAsync("admin", _factory.AdminPassword)).GetProperty("token").GetString()).Subject);
    }

    [Fact]
    public async Task Post_PasswordGrant_ThenRefreshTokenGrant_BothIssueScopedTokens()
    {
        using var password = await _client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = "admin",
            ["password"] = _factory.AdminPassword,
            ["service"] = "berth-registry",
            ["client_id"] = "docker",
            ["access_type"] = "offline",
            ["scope"] = "repository:app:pull,push",
        }));
        Assert.Equal(HttpStatusCode.OK, password.StatusCode);
        var first = await password.Content.ReadFromJsonAsync<JsonElement>();
        var refresh = first.GetProperty("refresh_token").GetString()!;
        Assert.Equal("repository:app:pull,push", first.GetProperty("scope").GetString());

        using var refreshed = await _client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refresh,
            ["service"] = "berth-registry",
            ["client_id"] = "docker",
            ["scope"] = "repository:other:pull",
        }));
        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        var second = await refreshed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("repository:other:pull", second.GetProperty("scope").GetString());
        Assert.Equal("admin", new JsonWebToken(second.GetProperty("access_token").GetString()).Subject);
    }

    [Fact]
    public async Task Post_UnknownRefreshTokenOrGrantType_IsRefused()
    {
        using var unknown = await _client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = "made-up",
        }));
        using var grant = await _client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }));
        using var json = await _client.PostAsJsonAsync("/auth/token", new { grant_type = "password" });

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, grant.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
    }

    [Fact]
    public async Task Anonymous_GetsATokenWithOnlyPublicPull()
    {
        await AdminAsync(HttpMethod.Put, "/api/v1/public-namespaces", new { pattern = "public/*" });

        using var response = await _client.GetAsync("/auth/token?scope=repository:public/tools:pull,push&scope=repository:private/x:pull");
        var token = new JsonWebToken((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());

        Assert.Equal(string.Empty, token.Subject);
        var access = token.GetPayloadValue<JsonElement>(TokenIssuer.AccessClaim);
        Assert.Equal(1, access.GetArrayLength());
        Assert.Equal("public/tools", access[0].GetProperty("name").GetString());
        Assert.Equal(["pull"], access[0].GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task SigningKeyAndAccounts_AreKeptAcrossRestarts()
    {
        var shared = Directory.CreateTempSubdirectory("berth-auth-restart-").FullName;
        try
        {
            string keyId;
            string password;
            string token;
            using (var first = new AuthRegistryFactory())
            {
                first.Settings["Registry:DataDir"] = shared;
                keyId = first.Services.GetRequiredService<SigningKeyStore>().Key.KeyId;
                password = File.ReadAllText(Path.Combine(shared, "initial-admin-password")).Trim();
                using var client = first.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?scope=repository:app:pull") { Headers = { Authorization = AuthRegistryFactory.Basic("admin", password) } };
                token = (await (await client.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
            }

            using var second = new AuthRegistryFactory();
            second.Settings["Registry:DataDir"] = shared;
            using var again = second.CreateClient();

            // Same key (tokens issued before the restart still validate), same admin, no second password file.
            Assert.Equal(keyId, second.Services.GetRequiredService<SigningKeyStore>().Key.KeyId);
            Assert.Equal(password, File.ReadAllText(Path.Combine(shared, "initial-admin-password")).Trim());
            using var login = new HttpRequestMessage(HttpMethod.Get, "/auth/token") { Headers = { Authorization = AuthRegistryFactory.Basic("admin", password) } };
            Assert.Equal(HttpStatusCode.OK, (await again.SendAsync(login)).StatusCode);
            using var old = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token) } };
            Assert.Equal(HttpStatusCode.OK, (await again.SendAsync(old)).StatusCode);
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    internal async Task<JsonElement> GetTokenAsync(string user, string password, params string[] scopes)
    {
        var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?service=berth-registry&" + query);
        request.Headers.Authorization = AuthRegistryFactory.Basic(user, password);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task AdminAsync(HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = AuthRegistryFactory.Basic("admin", _factory.AdminPassword);
        using var response = await _client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Berth.Registry.Tests.Auth;

public sealed class AdminApiTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();
    private readonly HttpClient _client;

    public AdminApiTests() => _client = _factory.CreateClient();

    public void Dispose() => _factory.Dispose();

    private AuthenticationHeaderValue Admin => AuthRegistryFactory.Basic("admin", _factory.AdminPassword);

    [Fact]
    public async Task Robot_GetsOnlyWhatItsPermissionsAllow()
    {
        var robot = await SendAsync(HttpMethod.Post, "/api/v1/robots", Admin, new
        {
            name = "ci",
            description = "pushes team-a",
            permissions = new[] { new { pattern = "team-a/*", actions = new[] { "pull", "push" } } },
        }, HttpStatusCode.Created);
        Assert.Equal("robot$ci", robot.GetProperty("name").GetString());
        var secret = robot.GetProperty("secret").GetString()!;

        var access = await GrantedAsync("robot$ci", secret, "repository:team-a/web:pull,push,delete", "repository:team-b/web:pull,push");

        Assert.Equal(["team-a/web:pull,push"], access);
    }

    [Fact]
    public async Task Robot_WrongSecret_IsRefused_AndListShowsLastUse()
    {
        var secret = (await SendAsync(HttpMethod.Post, "/api/v1/robots", Admin, new { name = "reader" }, HttpStatusCode.Created)).GetProperty("secret").GetString()!;

        await GetTokenAsync("robot$reader", secret + "x", HttpStatusCode.Unauthorized);
        var before = (await SendAsync(HttpMethod.Get, "/api/v1/robots", Admin)).EnumerateArray().Single();
        Assert.Equal(JsonValueKind.Null, before.GetProperty("lastUsedAt").ValueKind);

        await GetTokenAsync("robot$reader", secret, HttpStatusCode.OK);
        var after = (await SendAsync(HttpMethod.Get, "/api/v1/robots", Admin)).EnumerateArray().Single();
        Assert.Equal(JsonValueKind.String, after.GetProperty("lastUsedAt").ValueKind);
    }

    [Fact]
    public async Task RepeatedFailedLogins_AreThrottledWith429AndRetryAfter_AsAtTheTokenEndpoint()
    {
        for (var i = 0; i < 10; i++)
        {
            using var bad = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users");
            bad.Headers.Authorization = AuthRegistryFactory.Basic("admin", $"guess-{i}");
            using var refused = await _client.SendAsync(bad);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users");
        request.Headers.Authorization = Admin;
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("TOOMANYREQUESTS", body.GetProperty("errors")[0].GetProperty("code").GetString());

        // The token endpoint shares the count: the same address is refused there too.
        using var token = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
        token.Headers.Authorization = Admin;
        using var tokenResponse = await _client.SendAsync(token);
        Assert.Equal(HttpStatusCode.TooManyRequests, tokenResponse.StatusCode);
    }

    [Fact]
    public async Task Robot_Expired_IsRefused()
    {
        var expires = _factory.Time.GetUtcNow().AddHours(1);
        var secret = (await SendAsync(HttpMethod.Post, "/api/v1/robots", Admin, new { name = "temp", expiresAt = expires }, HttpStatusCode.Created)).GetProperty("secret").GetString()!;
        await GetTokenAsync("robot$temp", secret, HttpStatusCode.OK);

        _factory.Time.Advance(TimeSpan.FromHours(2));

        await GetTokenAsync("robot$temp", secret, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Robot_RotatedSecret_ReplacesTheOldOne()
    {
        var old = (await SendAsync(HttpMethod.Post, "/api/v1/robots", Admin, new { name = "rot" }, HttpStatusCode.Created)).GetProperty("secret").GetString()!;

        var rotated = (await SendAsync(HttpMethod.Post, "/api/v1/robots/rot/secret", Admin)).GetProperty("secret").GetString()!;

        await GetTokenAsync("robot$rot", old, HttpStatusCode.Unauthorized);
        await GetTokenAsync("robot$rot", rotated, HttpStatusCode.OK);
    }

    [Fact]
    public async Task User_WithNamespacePermission_AndNoAdminRights()
    {
        await SendAsync(HttpMethod.Post, "/api/v1/users", Admin, new { name = "alice", password = "correct horse battery" }, HttpStatusCode.Created);
        await SendAsync(HttpMethod.Put, "/api/v1/permissions", Admin, new { principal = "alice", pattern = "alice/*", actions = new[] { "pull", "push", "delete" } }, HttpStatusCode.NoContent);
        var alice = AuthRegistryFactory.Basic("alice", "correct horse battery");

        Assert.Equal(["alice/app:pull,push,delete"], await GrantedAsync("alice", "correct horse battery", "repository:alice/app:*", "repository:bob/app:pull"));
        await SendAsync(HttpMethod.Post, "/api/v1/users", alice, new { name = "mallory", password = "correct horse battery" }, HttpStatusCode.Forbidden);
        await SendAsync(HttpMethod.Get, "/api/v1/robots", alice, expected: HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task LoginPassword_WorksForDockerLoginFor12Hours()
    {
        await SendAsync(HttpMethod.Post, "/api/v1/users", Admin, new { name = "dev", password = "correct horse battery" }, HttpStatusCode.Created);
        var login = await SendAsync(HttpMethod.Post, "/api/v1/login-password", AuthRegistryFactory.Basic("dev", "correct horse battery"));
        var password = login.GetProperty("password").GetString()!;
        Assert.Equal("dev", login.GetProperty("username").GetString());

        await GetTokenAsync("dev", password, HttpStatusCode.OK);
        await GetTokenAsync("AWS", password, HttpStatusCode.OK);
        await GetTokenAsync("admin", password, HttpStatusCode.Unauthorized);

        _factory.Time.Advance(TimeSpan.FromHours(12) + TimeSpan.FromMinutes(1));
        await GetTokenAsync("dev", password, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RobotLoginPassword_WorksWithTheRobotsName_AsTheSchedulerHandsItToAgents()
    {
        var robot = await SendAsync(HttpMethod.Post, "/api/v1/robots", Admin, new { name = "puller", permissions = new[] { new { pattern = "team/*", actions = new[] { "pull" } } } }, HttpStatusCode.Created);
        var secret = robot.GetProperty("secret").GetString()!;
        var login = await SendAsync(HttpMethod.Post, "/api/v1/login-password", AuthRegistryFactory.Basic("robot$puller", secret));
        var password = login.GetProperty("password").GetString()!;
        Assert.Equal("robot$puller", login.GetProperty("username").GetString());

        await GetTokenAsync("robot$puller", password, HttpStatusCode.OK);
        await GetTokenAsync("AWS", password, HttpStatusCode.OK);
        await GetTokenAsync("robot$puller", secret, HttpStatusCode.OK);
        await GetTokenAsync("robot$puller", password + "x", HttpStatusCode.Unauthorized);
        await GetTokenAsync("robot$other", password, HttpStatusCode.Unauthorized);

        await SendAsync(HttpMethod.Delete, "/api/v1/robots/robot$puller", Admin, null, HttpStatusCode.NoContent);
        await GetTokenAsync("robot$puller", password, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task PasswordChange_EndsRefreshTokensOfTheOldPassword()
    {
        await SendAsync(HttpMethod.Post, "/api/v1/users", Admin, new { name = "carol", password = "correct horse battery" }, HttpStatusCode.Created);
        using var login = new HttpRequestMessage(HttpMethod.Get, "/auth/token?offline_token=true");
        login.Headers.Authorization = AuthRegistryFactory.Basic("carol", "correct horse battery");
        var refresh = (await (await _client.SendAsync(login)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;

        await SendAsync(HttpMethod.Put, "/api/v1/users/carol/password", Admin, new { password = "a much newer password" }, HttpStatusCode.NoContent);

        using var response = await _client.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh }));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await GetTokenAsync("carol", "correct horse battery", HttpStatusCode.Unauthorized);
        await GetTokenAsync("carol", "a much newer password", HttpStatusCode.OK);
    }

    [Fact]
    public async Task DeletedUser_CanNoLongerLogIn_AndAdminCannotDeleteItself()
    {
        await SendAsync(HttpMethod.Post, "/api/v1/users", Admin, new { name = "dave", password = "correct horse battery" }, HttpStatusCode.Created);
        await SendAsync(HttpMethod.Delete, "/api/v1/users/dave", Admin, expected: HttpStatusCode.NoContent);
        await SendAsync(HttpMethod.Delete, "/api/v1/users/admin", Admin, expected: HttpStatusCode.BadRequest);

        await GetTokenAsync("dave", "correct horse battery", HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("{\"name\":\"Bad Name\",\"password\":\"correct horse battery\"}", "NAME_INVALID")]
    [InlineData("{\"name\":\"short\",\"password\":\"short\"}", "UNSUPPORTED")]
    [InlineData("{\"name\":\"admin\",\"password\":\"correct horse battery\"}", "DENIED")]
    public async Task CreateUser_BadInput_IsAClearError(string json, string code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/users") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = Admin;
        using var response = await _client.SendAsync(request);

        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal(code, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task AdminApi_WithoutCredentials_Is401_AndBadPermissionIs400()
    {
        using var anonymous = await _client.GetAsync("/api/v1/users");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        await SendAsync(HttpMethod.Put, "/api/v1/permissions", Admin, new { principal = "admin", pattern = "../etc", actions = new[] { "pull" } }, HttpStatusCode.BadRequest);
        await SendAsync(HttpMethod.Put, "/api/v1/permissions", Admin, new { principal = "admin", pattern = "ok/*", actions = new[] { "fly" } }, HttpStatusCode.BadRequest);
        await SendAsync(HttpMethod.Put, "/api/v1/permissions", Admin, new { principal = "ghost", pattern = "ok/*", actions = new[] { "pull" } }, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AdminApi_AcceptsABearerTokenOfAnAdmin()
    {
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
        tokenRequest.Headers.Authorization = Admin;
        var token = (await (await _client.SendAsync(tokenRequest)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

        var users = await SendAsync(HttpMethod.Get, "/api/v1/users", new AuthenticationHeaderValue("Bearer", token));

        Assert.Contains(users.EnumerateArray(), u => u.GetProperty("name").GetString() == "admin" && u.GetProperty("admin").GetBoolean());
    }

    private async Task<List<string>> GrantedAsync(string user, string password, params string[] scopes)
    {
        var query = string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?" + query);
        request.Headers.Authorization = AuthRegistryFactory.Basic(user, password);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = new JsonWebToken((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        return [.. token.GetPayloadValue<JsonElement>("access").EnumerateArray()
            .Select(a => $"{a.GetProperty("name").GetString()}:{string.Join(',', a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()))}")];
    }

    private async Task GetTokenAsync(string user, string password, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
        request.Headers.Authorization = AuthRegistryFactory.Basic(user, password);
        using var response = await _client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, AuthenticationHeaderValue auth, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        request.Headers.Authorization = auth;
        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Tests.Routing;

/// <summary>Oversized request headers get the spec's JSON error, and docker-sized tokens are nowhere near the limit.</summary>
public sealed class HeaderLimitTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private const int DefaultLimit = 64 * 1024;

    [Fact]
    public async Task HeadersOverTheLimit_Get431_WithTheSpecErrorBody()
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        request.Headers.Add("X-Padding", new string('a', DefaultLimit + 1));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0];
        Assert.Equal("UNSUPPORTED", error.GetProperty("code").GetString());
        Assert.Contains("65536", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadersJustUnderTheLimit_AreServed()
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        request.Headers.Add("X-Padding", new string('a', DefaultLimit / 2));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void KestrelsOwnLimit_IsABackstopAboveTheRegistrys()
    {
        // Kestrel answers a bare 431 before any middleware when its limit is hit first.
        var kestrel = app.Factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;

        Assert.True(kestrel.Limits.MaxRequestHeadersTotalSize > DefaultLimit, $"Kestrel's limit {kestrel.Limits.MaxRequestHeadersTotalSize} must exceed {DefaultLimit}");
    }

    [Fact]
    public async Task UnderTokenAuth_ALargeTokenIsJudgedAsAToken_AndAnOversizedOneGets431()
    {
        using var factory = new AuthRegistryFactory();
        using var client = factory.CreateClient();

        // 16 KiB: far more than docker's tokens with dozens of scopes. Not valid, so 401, not 431.
        using var large = new HttpRequestMessage(HttpMethod.Get, "/v2/team/app/tags/list");
        large.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('x', 16 * 1024));
        using var judged = await client.SendAsync(large);
        Assert.Equal(HttpStatusCode.Unauthorized, judged.StatusCode);

        using var oversized = new HttpRequestMessage(HttpMethod.Get, "/auth/token");
        oversized.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('x', DefaultLimit));
        using var refused = await client.SendAsync(oversized);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, refused.StatusCode);
        Assert.Equal("UNSUPPORTED", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0].GetProperty("code").GetString());
    }
}

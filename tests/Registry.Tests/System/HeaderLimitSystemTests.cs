using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Berth.TestSupport;
using Xunit.Abstractions;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// The header limit with Kestrel in the loop (the in-process tests have none): Kestrel must not refuse first with its
/// bare 431, so a client sees the spec's JSON error.
/// </summary>
[Trait("Category", "System")]
public sealed class HeaderLimitSystemTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RealServer_OversizedHeaders_Get431WithTheSpecErrorBody()
    {
        await using var registry = await RegistryProcess.StartAsync(output.WriteLine, RegistryKind.Berth, new RegistryProcessOptions(Auth: true)).WithTimeout(TimeSpan.FromMinutes(2));
        using var client = new HttpClient { BaseAddress = registry.BaseAddress };

        // Kestrel's default limit is 32 KiB; the registry's own is 64 KiB.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('x', 80 * 1024));
        using var response = await client.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal("UNSUPPORTED", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task RealServer_ManySmallHeaders_AreServed_WhileKestrelWouldHaveRefusedThem()
    {
        await using var registry = await RegistryProcess.StartAsync(output.WriteLine, RegistryKind.Berth, new RegistryProcessOptions(Auth: true)).WithTimeout(TimeSpan.FromMinutes(2));
        using var client = new HttpClient { BaseAddress = registry.BaseAddress };

        // Kestrel's default allows 100 headers; 300 short ones are ~6 KiB, far under the registry's byte limit.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        for (var i = 0; i < 300; i++)
        {
            request.Headers.TryAddWithoutValidation($"X-Trace-{i}", "1");
        }

        using var response = await client.SendAsync(request).WithTimeout();

        // Auth is on: the registry itself answered, with its challenge.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(response.Headers.WwwAuthenticate.Count > 0);
    }

    [Fact]
    public async Task RealServer_OverlongRequestTarget_Gets414WithTheSpecErrorBody()
    {
        await using var registry = await RegistryProcess.StartAsync(output.WriteLine, RegistryKind.Berth, new RegistryProcessOptions(Auth: true)).WithTimeout(TimeSpan.FromMinutes(2));
        using var client = new HttpClient { BaseAddress = registry.BaseAddress };

        // Over the registry's 8 KiB and under Kestrel's backstop: the registry's answer, not Kestrel's bare 414.
        using var response = await client.GetAsync($"/v2/{string.Join('/', Enumerable.Repeat(new string('a', 100), 120))}/tags/list").WithTimeout();

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0];
        Assert.Equal("UNSUPPORTED", error.GetProperty("code").GetString());
        Assert.Contains("URI too long", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
    }
}

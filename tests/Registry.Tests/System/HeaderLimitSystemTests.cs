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
}

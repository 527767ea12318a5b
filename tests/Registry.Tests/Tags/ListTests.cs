using System.Net;
using System.Text;
using Berth.Registry.Tests.Infrastructure;
using Berth.Registry.Tests.Manifests;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Tags;

public sealed class ListTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Tags_AreSortedAndPaginatedWithLink()
    {
        var manifest = await _client.PushImageBlobsAsync("list/tags", layerCount: 1);
        foreach (var tag in new[] { "v3", "v1", "latest", "v2", "a" })
        {
            await (await _client.PutManifestAsync("list/tags", tag, manifest, DockerManifest)).EnsureCreatedAsync();
        }

        using var all = await _client.GetAsync("/v2/list/tags/tags/list");
        Assert.Equal("""{"name":"list/tags","tags":["a","latest","v1","v2","v3"]}""", await all.Content.ReadAsStringAsync());
        Assert.False(all.Headers.Contains("Link"));

        using var first = await _client.GetAsync("/v2/list/tags/tags/list?n=2");
        Assert.Equal("""{"name":"list/tags","tags":["a","latest"]}""", await first.Content.ReadAsStringAsync());
        Assert.Equal("</v2/list/tags/tags/list?n=2&last=latest>; rel=\"next\"", first.Header("Link"));

        using var second = await _client.GetAsync("/v2/list/tags/tags/list?n=2&last=latest");
        Assert.Equal("""{"name":"list/tags","tags":["v1","v2"]}""", await second.Content.ReadAsStringAsync());

        using var last = await _client.GetAsync("/v2/list/tags/tags/list?n=2&last=v2");
        Assert.Equal("""{"name":"list/tags","tags":["v3"]}""", await last.Content.ReadAsStringAsync());
        Assert.False(last.Headers.Contains("Link"));

        using var none = await _client.GetAsync("/v2/list/tags/tags/list?n=0");
        Assert.Equal("""{"name":"list/tags","tags":[]}""", await none.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tags_OfAnEmptyRepository_IsAnEmptyArray_NotNull()
    {
        await _client.PushBlobAsync("list/empty", RandomBytes(10));

        using var response = await _client.GetAsync("/v2/list/empty/tags/list");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"name":"list/empty","tags":[]}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tags_OfAnUnknownRepository_IsNameUnknown()
    {
        using var response = await _client.GetAsync("/v2/list/never/tags/list");
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("99999999999999")]
    public async Task InvalidPageSize_IsPaginationNumberInvalid(string n)
    {
        await _client.PushBlobAsync("list/badn", RandomBytes(10));
        using var tags = await _client.GetAsync($"/v2/list/badn/tags/list?n={n}");
        await AssertErrorAsync(tags, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
        using var catalog = await _client.GetAsync($"/v2/_catalog?n={n}");
        await AssertErrorAsync(catalog, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task Catalog_IsSortedAndPaginated()
    {
        foreach (var name in new[] { "cat/zeta", "cat/alpha", "cat/mid/nested" })
        {
            await _client.PushBlobAsync(name, Encoding.UTF8.GetBytes(name));
        }

        using var all = await _client.GetAsync("/v2/_catalog");
        var body = await all.Content.ReadAsStringAsync();
        var alpha = body.IndexOf("\"cat/alpha\"", StringComparison.Ordinal);
        var mid = body.IndexOf("\"cat/mid/nested\"", StringComparison.Ordinal);
        var zeta = body.IndexOf("\"cat/zeta\"", StringComparison.Ordinal);
        Assert.True(alpha >= 0 && alpha < mid && mid < zeta, body);

        using var page = await _client.GetAsync("/v2/_catalog?n=1&last=cat/alpha");
        Assert.Equal("""{"repositories":["cat/mid/nested"]}""", await page.Content.ReadAsStringAsync());
        Assert.Equal("</v2/_catalog?n=1&last=cat%2Fmid%2Fnested>; rel=\"next\"", page.Header("Link"));
    }
}

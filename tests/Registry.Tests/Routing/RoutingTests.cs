using System.Net;
using Berth.Registry.Routing;
using Berth.Registry.Tests.Infrastructure;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Routing;

public sealed class RoutingTests(RegistryApp app) : IClassFixture<RegistryApp>
{
    private readonly HttpClient _client = app.CreateClient();

    [Theory]
    [InlineData("/v2/", "Base", "", "")]
    [InlineData("/v2", "Base", "", "")]
    [InlineData("/v2/_catalog", "Catalog", "", "")]
    [InlineData("/v2/a/b/c/blobs/sha256:abc", "Blob", "a/b/c", "sha256:abc")]
    [InlineData("/v2/a/blobs/uploads/", "Upload", "a", "")]
    [InlineData("/v2/a/blobs/uploads", "Upload", "a", "")]
    [InlineData("/v2/a/blobs/uploads/0123", "Upload", "a", "0123")]
    [InlineData("/v2/blobs/blobs/uploads/x", "Upload", "blobs", "x")]
    [InlineData("/v2/x/manifests/manifests/latest", "Manifest", "x/manifests", "latest")]
    [InlineData("/v2/tags/list/tags/list", "TagsList", "tags/list", "")]
    [InlineData("/v2/r/referrers/sha256:1", "Referrers", "r", "sha256:1")]
    [InlineData("/v2/r/other/thing", "NotFound", "", "")]
    [InlineData("/v3/r/tags/list", "NotFound", "", "")]
    [InlineData("/v2/manifests/latest", "NotFound", "", "")]
    public void Parse_ReadsNestedNamesFromTheEnd(string path, string kind, string name, string argument)
    {
        var route = RegistryRoute.Parse(path);
        Assert.Equal(Enum.Parse<RouteKind>(kind), route.Kind);
        Assert.Equal(name, route.Name.ToString());
        Assert.Equal(argument, route.Argument.ToString());
    }

    [Fact]
    public async Task Base_Answers200WithEmptyObjectAndApiVersion()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        Assert.Equal("registry/2.0", response.Header("Docker-Distribution-API-Version"));
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("/v2/Upper/tags/list")]
    [InlineData("/v2/a//b/tags/list")]
    [InlineData("/v2/a..b/tags/list")]
    [InlineData("/v2/a___b/manifests/latest")]
    [InlineData("/v2/-a/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("/v2/a%2Fb/blobs/uploads/")]
    [InlineData("/v2/a%20b/referrers/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public async Task InvalidRepositoryName_IsNameInvalid(string path)
    {
        using var get = await _client.GetAsync(path);
        await AssertErrorAsync(get, HttpStatusCode.BadRequest, "NAME_INVALID");
        using var post = await _client.PostAsync(path, null);
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
    }

    [Fact]
    public async Task OverlongRepositoryName_IsNameInvalid()
    {
        using var response = await _client.GetAsync($"/v2/{new string('a', 256)}/tags/list");
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Theory]
    [InlineData("POST", "/v2/")]
    [InlineData("DELETE", "/v2/_catalog")]
    [InlineData("PUT", "/v2/a/tags/list")]
    [InlineData("POST", "/v2/a/manifests/latest")]
    [InlineData("PUT", "/v2/a/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("DELETE", "/v2/a/referrers/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public async Task UnsupportedMethod_Is405Unsupported(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
    }

    [Fact]
    public async Task UnknownPath_Is404WithSpecErrorBody()
    {
        using var response = await _client.GetAsync("/v2/a/b/whatever");
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "UNSUPPORTED");
        using var root = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        Assert.Equal("registry/2.0", root.Header("Docker-Distribution-API-Version"));
    }
}

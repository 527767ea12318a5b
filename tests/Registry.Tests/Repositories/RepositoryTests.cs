using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Registry.Images;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Registry.Tests.Repositories;

/// <summary>Repositories as resources (ECR), tag immutability on the wire, creation templates, DescribeImages.</summary>
public sealed class RepositoryTests : IDisposable
{
    private readonly AuthRegistryFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private RegistryAdminClient Admin() => new(_factory.CreateClient(), "admin", _factory.AdminPassword);

    private async Task<HttpClient> WireAsync(string repository)
    {
        var client = _factory.CreateClient();
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _factory.AdminPassword, $"repository:{repository}:pull,push,delete");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<string> PushAsync(HttpClient client, string repository, string tag)
    {
        var manifest = await client.PushImageBlobsAsync(repository);
        using var response = await client.PutManifestAsync(repository, tag, manifest, RegistryTestClient.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.GetValues("Docker-Content-Digest").Single();
    }

    [Fact]
    public async Task CreateDescribeListUpdateDelete_RoundTrip()
    {
        var admin = Admin();

        var created = await admin.CreateRepositoryAsync(
            new CreateRepositoryRequest("team-a/app", "IMMUTABLE_WITH_EXCLUSION", [new TagMutabilityExclusionFilter("WILDCARD", "latest")], "the app"),
            CancellationToken.None).WithTimeout();
        await admin.CreateRepositoryAsync(new CreateRepositoryRequest("team-a/other"), CancellationToken.None).WithTimeout();
        var described = await admin.DescribeRepositoryAsync("team-a/app", CancellationToken.None).WithTimeout();
        var listed = await admin.ListRepositoriesAsync(null, 10, CancellationToken.None).WithTimeout();
        var updated = await admin.UpdateRepositoryAsync("team-a/app", new UpdateRepositoryRequest("MUTABLE"), CancellationToken.None).WithTimeout();
        await admin.DeleteRepositoryAsync("team-a/other", force: false, CancellationToken.None).WithTimeout();

        Assert.Equal(("team-a/app", "IMMUTABLE_WITH_EXCLUSION", "the app", 0), (created.RepositoryName, created.ImageTagMutability, created.Description, created.ImageCount));
        Assert.Equal("latest", Assert.Single(described.ImageTagMutabilityExclusionFilters).Filter);
        Assert.Equal(["team-a/app", "team-a/other"], listed.Select(r => r.RepositoryName));
        Assert.Equal("MUTABLE", updated.ImageTagMutability);
        Assert.Empty(updated.ImageTagMutabilityExclusionFilters);
        Assert.Equal("the app", updated.Description);
        Assert.Equal(["team-a/app"], (await admin.ListRepositoriesAsync(null, 10, CancellationToken.None)).Select(r => r.RepositoryName));
    }

    [Fact]
    public async Task Refusals_CarryEcrsExceptionNames_AndHarmNothing()
    {
        var admin = Admin();
        await admin.CreateRepositoryAsync(new CreateRepositoryRequest("app"), CancellationToken.None);
        var client = await WireAsync("app");
        await PushAsync(client, "app", "1");

        var exists = await Assert.ThrowsAsync<RegistryApiException>(() => admin.CreateRepositoryAsync(new CreateRepositoryRequest("app"), CancellationToken.None));
        var missing = await Assert.ThrowsAsync<RegistryApiException>(() => admin.DescribeRepositoryAsync("nope", CancellationToken.None));
        var notEmpty = await Assert.ThrowsAsync<RegistryApiException>(() => admin.DeleteRepositoryAsync("app", force: false, CancellationToken.None));
        var badMutability = await Assert.ThrowsAsync<RegistryApiException>(() => admin.CreateRepositoryAsync(new CreateRepositoryRequest("b", "FROZEN"), CancellationToken.None));
        var badFilter = await Assert.ThrowsAsync<RegistryApiException>(() =>
            admin.CreateRepositoryAsync(new CreateRepositoryRequest("b", "IMMUTABLE_WITH_EXCLUSION", [new TagMutabilityExclusionFilter("WILDCARD", "a/b")]), CancellationToken.None));
        var filterWithoutExclusion = await Assert.ThrowsAsync<RegistryApiException>(() =>
            admin.CreateRepositoryAsync(new CreateRepositoryRequest("b", "IMMUTABLE", [new TagMutabilityExclusionFilter("WILDCARD", "latest")]), CancellationToken.None));
        var badName = await Assert.ThrowsAsync<RegistryApiException>(() => admin.CreateRepositoryAsync(new CreateRepositoryRequest("Bad Name"), CancellationToken.None));

        Assert.Equal((HttpStatusCode.Conflict, "RepositoryAlreadyExistsException"), (exists.StatusCode, exists.Errors[0].Code));
        Assert.Equal((HttpStatusCode.NotFound, "RepositoryNotFoundException"), (missing.StatusCode, missing.Errors[0].Code));
        Assert.Equal((HttpStatusCode.Conflict, "RepositoryNotEmptyException"), (notEmpty.StatusCode, notEmpty.Errors[0].Code));
        Assert.All([badMutability, badFilter, filterWithoutExclusion, badName], e => Assert.Equal((HttpStatusCode.BadRequest, "InvalidParameterException"), (e.StatusCode, e.Errors[0].Code)));
        Assert.Contains("imageTagMutability", badMutability.Message, StringComparison.Ordinal);
        Assert.Equal(["app"], (await admin.ListRepositoriesAsync(null, 10, CancellationToken.None)).Select(r => r.RepositoryName));
        using var pull = await client.GetAsync("/v2/app/manifests/1").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task ForceDelete_RemovesTheRepositoryAndItsImages_AndTheNameCanBeReused()
    {
        var admin = Admin();
        var client = await WireAsync("gone");
        await PushAsync(client, "gone", "1");

        await admin.DeleteRepositoryAsync("gone", force: true, CancellationToken.None).WithTimeout();

        using (var pull = await client.GetAsync("/v2/gone/manifests/1").WithTimeout())
        {
            await RegistryTestClient.AssertErrorAsync(pull, HttpStatusCode.NotFound, "NAME_UNKNOWN");
        }

        await Assert.ThrowsAsync<RegistryApiException>(() => admin.DescribeRepositoryAsync("gone", CancellationToken.None));
        var again = await PushAsync(client, "gone", "2");
        var images = await admin.DescribeImagesAsync("gone", CancellationToken.None).WithTimeout();
        Assert.Equal(again, Assert.Single(images).ImageDigest);
    }

    [Fact]
    public async Task ImmutableTag_CannotMoveOrBeDeleted_ButTheSamePushRepeats_AndExcludedTagsMove()
    {
        await Admin().CreateRepositoryAsync(
            new CreateRepositoryRequest("locked", "IMMUTABLE_WITH_EXCLUSION", [new TagMutabilityExclusionFilter("WILDCARD", "latest")]),
            CancellationToken.None);
        var client = await WireAsync("locked");
        var first = await PushAsync(client, "locked", "1.0");
        await PushAsync(client, "locked", "latest");

        var other = await client.PushImageBlobsAsync("locked");
        using var moved = await client.PutManifestAsync("locked", "1.0", other, RegistryTestClient.DockerManifest);
        var errors = await RegistryTestClient.AssertErrorAsync(moved, HttpStatusCode.BadRequest, "TAG_INVALID");
        using var latestMoves = await client.PutManifestAsync("locked", "latest", other, RegistryTestClient.DockerManifest);
        using var samePush = await client.GetAsync("/v2/locked/manifests/1.0").WithTimeout();
        var sameBody = await samePush.Content.ReadAsByteArrayAsync();
        var repeat = new ByteArrayContent(sameBody);
        repeat.Headers.ContentType = new MediaTypeHeaderValue(RegistryTestClient.DockerManifest);
        using var repeated = await client.PutAsync("/v2/locked/manifests/1.0", repeat).WithTimeout();
        using var deleteTag = await client.DeleteAsync("/v2/locked/manifests/1.0").WithTimeout();
        using var deleteManifest = await client.DeleteAsync($"/v2/locked/manifests/{first}").WithTimeout();

        Assert.Contains("immutable", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("'1.0'", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, latestMoves.StatusCode);
        Assert.Equal(HttpStatusCode.Created, repeated.StatusCode);
        await RegistryTestClient.AssertErrorAsync(deleteTag, HttpStatusCode.Forbidden, "DENIED");
        await RegistryTestClient.AssertErrorAsync(deleteManifest, HttpStatusCode.Forbidden, "DENIED");
        using var still = await client.GetAsync("/v2/locked/manifests/1.0").WithTimeout();
        Assert.Equal(first, still.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task CreationTemplates_GiveNewRepositoriesTheirSettings_AndCanForbidCreateOnPush()
    {
        var admin = Admin();
        await admin.PutRepositoryTemplateAsync(new RepositoryCreationTemplate("prod/", "IMMUTABLE", Description: "production"), CancellationToken.None).WithTimeout();
        await admin.PutRepositoryTemplateAsync(new RepositoryCreationTemplate("closed/", CreateOnPush: false), CancellationToken.None).WithTimeout();
        var bad = await Assert.ThrowsAsync<RegistryApiException>(() => admin.PutRepositoryTemplateAsync(new RepositoryCreationTemplate("no-slash"), CancellationToken.None));

        var prod = await WireAsync("prod/api");
        await PushAsync(prod, "prod/api", "1");
        var closed = await WireAsync("closed/x");
        using var refused = await closed.PostAsync("/v2/closed/x/blobs/uploads/", null).WithTimeout();

        var described = await admin.DescribeRepositoryAsync("prod/api", CancellationToken.None);
        Assert.Equal(("IMMUTABLE", "production"), (described.ImageTagMutability, described.Description));
        var errors = await RegistryTestClient.AssertErrorAsync(refused, HttpStatusCode.NotFound, "NAME_UNKNOWN");
        Assert.Contains("does not exist", errors[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("InvalidParameterException", bad.Errors[0].Code);
        Assert.Equal(["closed/", "prod/"], (await admin.ListRepositoryTemplatesAsync(CancellationToken.None)).Select(t => t.Prefix));

        // Created explicitly, the repository takes pushes.
        await admin.CreateRepositoryAsync(new CreateRepositoryRequest("closed/x"), CancellationToken.None);
        await PushAsync(closed, "closed/x", "1");
    }

    [Fact]
    public async Task DescribeImages_ShowsSizeTagsPushAndBatchedPullTimes()
    {
        var client = await WireAsync("img");
        var manifest = await client.PushImageBlobsAsync("img", layerCount: 2);
        using (var put = await client.PutManifestAsync("img", "v1", manifest, RegistryTestClient.DockerManifest))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var pushedAt = _factory.Time.GetUtcNow();
        var admin = Admin();
        var beforePull = Assert.Single(await admin.DescribeImagesAsync("img", CancellationToken.None).WithTimeout());
        // Less than the recorder's flush interval (1 min): its own timer never fires in this test, so only the explicit
        // flush below writes the pull. Moving the clock past the interval fired the timer, and under load the
        // recorder's loop woke after the pull and wrote it first.
        _factory.Time.Advance(TimeSpan.FromSeconds(30));
        using (var pull = await client.GetAsync("/v2/img/manifests/v1").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        }

        var notYetWritten = Assert.Single(await admin.DescribeImagesAsync("img", CancellationToken.None));
        await _factory.Services.GetRequiredService<PullRecorder>().FlushAsync(CancellationToken.None).WithTimeout();
        var afterPull = Assert.Single(await admin.DescribeImagesAsync("img", CancellationToken.None));

        using var document = JsonDocument.Parse(manifest);
        var expectedSize = document.RootElement.GetProperty("config").GetProperty("size").GetInt64()
            + document.RootElement.GetProperty("layers").EnumerateArray().Sum(l => l.GetProperty("size").GetInt64());
        Assert.Equal(expectedSize, beforePull.ImageSizeInBytes);
        Assert.Equal(["v1"], beforePull.ImageTags);
        Assert.Equal(RegistryTestClient.DockerManifest, beforePull.ImageManifestMediaType);
        Assert.Equal(pushedAt, beforePull.ImagePushedAt);
        Assert.Null(beforePull.LastRecordedPullTime);
        Assert.Null(notYetWritten.LastRecordedPullTime);
        Assert.Equal(pushedAt.AddSeconds(30), afterPull.LastRecordedPullTime);
        await Assert.ThrowsAsync<RegistryApiException>(() => admin.DescribeImagesAsync("nope", CancellationToken.None));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Registry.Gc;
using Berth.Registry.Lifecycle;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Infrastructure;
using Berth.RegistryAdmin;
using Berth.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Registry.Tests.Lifecycle;

/// <summary>The lifecycle admin API on a registry in process with a fake clock: ECR's calls, their errors, runs, and GC reclaiming the bytes.</summary>
public sealed class LifecycleApiTests : IDisposable
{
    private const string KeepTwoReleases = """
        {"rules": [
          {"rulePriority": 1, "description": "two releases", "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}},
          {"rulePriority": 2, "description": "untagged after a day", "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}
        ]}
        """;

    private readonly AuthRegistryFactory _factory = new();

    public LifecycleApiTests()
    {
        // Background loops off: the tests apply policies and collect garbage themselves, except where they say.
        _factory.Settings["Registry:Lifecycle:Enabled"] = "false";
        _factory.Settings["Registry:Gc:Enabled"] = "false";
        _factory.Settings["Registry:Gc:ReviewDelay"] = "00:00:00";
    }

    public void Dispose() => _factory.Dispose();

    private RegistryAdminClient Admin() => new(_factory.CreateClient(), "admin", _factory.AdminPassword);

    // Tokens expire in minutes and the tests move the clock by days: every call gets a fresh token.
    private async Task<HttpClient> WireAsync(string repository, HttpClient? client = null)
    {
        client ??= _factory.CreateClient();
        var token = await AuthRegistryFactory.TokenAsync(client, "admin", _factory.AdminPassword, $"repository:{repository}:pull,push,delete");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    // Pushes a new image under the tags (none: by digest), then lets a day pass, so push times differ by days.
    private Task<(string Digest, string Manifest)> PushAsync(HttpClient client, string repository, params string[] tags) =>
        PushAsync(client, repository, TimeSpan.FromDays(1), tags);

    private async Task<(string Digest, string Manifest)> PushAsync(HttpClient client, string repository, TimeSpan then, params string[] tags)
    {
        await WireAsync(repository, client);
        var manifest = await client.PushImageBlobsAsync(repository);
        var digest = RegistryTestClient.Sha256(System.Text.Encoding.UTF8.GetBytes(manifest));
        foreach (var reference in tags.Length == 0 ? [digest] : tags)
        {
            using var response = await client.PutManifestAsync(repository, reference, manifest, RegistryTestClient.DockerManifest);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        _factory.Time.Advance(then);
        return (digest, manifest);
    }

    private static string Describe(LifecyclePolicyPreviewResult r) => $"{r.ImageDigest} [{string.Join(',', r.ImageTags)}] {r.ImagePushedAt:O} {r.AppliedRulePriority} {r.Reason}";

    private static string Describe(LifecycleExpiration e) => $"{e.RepositoryName} {e.ImageDigest} [{string.Join(',', e.ImageTags)}] {e.ImagePushedAt:O} {e.AppliedRulePriority} {e.Reason} {e.ExpiredAt:O}";

    private static IEnumerable<string> Blobs(string manifest)
    {
        var root = JsonNode.Parse(manifest)!;
        return [root["config"]!["digest"]!.GetValue<string>(), .. root["layers"]!.AsArray().Select(l => l!["digest"]!.GetValue<string>())];
    }

    private async Task<HttpStatusCode> StatusAsync(HttpClient client, string path)
    {
        var repository = path["/v2/".Length..path.IndexOf(path.Contains("/manifests/", StringComparison.Ordinal) ? "/manifests/" : path.Contains("/blobs/", StringComparison.Ordinal) ? "/blobs/" : "/tags/", StringComparison.Ordinal)];
        await WireAsync(repository, client);
        using var response = await client.GetAsync(path).WithTimeout();
        return response.StatusCode;
    }

    [Fact]
    public async Task PutGetDelete_KeepThePolicyTextAsPut()
    {
        var admin = Admin();
        await PushAsync(await WireAsync("team/app"), "team/app", "v1");

        var put = await admin.PutLifecyclePolicyAsync("team/app", KeepTwoReleases, CancellationToken.None).WithTimeout();
        var got = await admin.GetLifecyclePolicyAsync("team/app", CancellationToken.None).WithTimeout();
        var deleted = await admin.DeleteLifecyclePolicyAsync("team/app", CancellationToken.None).WithTimeout();
        var gone = await Assert.ThrowsAsync<RegistryApiException>(() => admin.GetLifecyclePolicyAsync("team/app", CancellationToken.None));

        Assert.Equal(("team/app", KeepTwoReleases), (put.RepositoryName, put.LifecyclePolicyText));
        Assert.Equal(KeepTwoReleases, got.LifecyclePolicyText);
        Assert.Null(got.LastEvaluatedAt);
        Assert.Equal(KeepTwoReleases, deleted.LifecyclePolicyText);
        Assert.Equal((HttpStatusCode.NotFound, "LifecyclePolicyNotFoundException"), (gone.StatusCode, gone.Errors[0].Code));
        Assert.Equal("Lifecycle policy does not exist for the repository with name 'team/app' in the registry", gone.Errors[0].Message);
    }

    [Fact]
    public async Task Refusals_CarryEcrsExceptionNames_AndKeepWhatWasStored()
    {
        var admin = Admin();
        await PushAsync(await WireAsync("app"), "app", "v1");
        await admin.PutLifecyclePolicyAsync("app", KeepTwoReleases, CancellationToken.None).WithTimeout();
        var anyFirst = KeepTwoReleases.Replace("\"tagStatus\": \"untagged\"", "\"tagStatus\": \"any\"", StringComparison.Ordinal)
            .Replace("\"rulePriority\": 1,", "\"rulePriority\": 3,", StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<RegistryApiException>(() => admin.PutLifecyclePolicyAsync("app", anyFirst, CancellationToken.None));
        var notJson = await Assert.ThrowsAsync<RegistryApiException>(() => admin.PutLifecyclePolicyAsync("app", "rules: keep two".PadRight(120), CancellationToken.None));
        var noRepository = await Assert.ThrowsAsync<RegistryApiException>(() => admin.PutLifecyclePolicyAsync("nope", KeepTwoReleases, CancellationToken.None));
        var noRepositoryGet = await Assert.ThrowsAsync<RegistryApiException>(() => admin.GetLifecyclePolicyAsync("nope", CancellationToken.None));
        var noPreview = await Assert.ThrowsAsync<RegistryApiException>(() => admin.GetLifecyclePolicyPreviewAsync("app", CancellationToken.None));
        await admin.DeleteLifecyclePolicyAsync("app", CancellationToken.None);
        var noPolicyDelete = await Assert.ThrowsAsync<RegistryApiException>(() => admin.DeleteLifecyclePolicyAsync("app", CancellationToken.None));
        var noPolicyPreview = await Assert.ThrowsAsync<RegistryApiException>(() => admin.StartLifecyclePolicyPreviewAsync("app", null, CancellationToken.None));
        var noPolicyRun = await Assert.ThrowsAsync<RegistryApiException>(() => admin.RunLifecyclePoliciesAsync("app", CancellationToken.None));
        var badListSize = await Assert.ThrowsAsync<RegistryApiException>(() => admin.ListLifecycleRunsAsync(null, 0, CancellationToken.None));

        Assert.Equal((HttpStatusCode.BadRequest, "InvalidParameterException"), (invalid.StatusCode, invalid.Errors[0].Code));
        Assert.Equal(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Rule for tagStatus=ANY must have the lowest priority (the highest rulePriority).'",
            invalid.Errors[0].Message);
        Assert.Equal("InvalidParameterException", notJson.Errors[0].Code);
        Assert.EndsWith("Could not map policyString into LifecyclePolicy.'", notJson.Errors[0].Message, StringComparison.Ordinal);
        Assert.All([noRepository, noRepositoryGet], e => Assert.Equal((HttpStatusCode.NotFound, "RepositoryNotFoundException"), (e.StatusCode, e.Errors[0].Code)));
        Assert.Equal((HttpStatusCode.NotFound, "LifecyclePolicyPreviewNotFoundException"), (noPreview.StatusCode, noPreview.Errors[0].Code));
        Assert.All([noPolicyDelete, noPolicyPreview, noPolicyRun], e => Assert.Equal((HttpStatusCode.NotFound, "LifecyclePolicyNotFoundException"), (e.StatusCode, e.Errors[0].Code)));
        Assert.Equal("InvalidParameterException", badListSize.Errors[0].Code);
    }

    [Fact]
    public async Task AnInvalidPut_LeavesThePreviousPolicyInForce()
    {
        var admin = Admin();
        await PushAsync(await WireAsync("app"), "app", "v1");
        await admin.PutLifecyclePolicyAsync("app", KeepTwoReleases, CancellationToken.None).WithTimeout();

        await Assert.ThrowsAsync<RegistryApiException>(() => admin.PutLifecyclePolicyAsync("app", KeepTwoReleases.Replace("\"countNumber\": 2", "\"countNumber\": 0", StringComparison.Ordinal), CancellationToken.None));

        Assert.Equal(KeepTwoReleases, (await admin.GetLifecyclePolicyAsync("app", CancellationToken.None)).LifecyclePolicyText);
    }

    [Fact]
    public async Task Preview_ListsWhatWouldExpireAndWhy_AndDeletesNothing_ThenARunExpiresExactlyThat_AndGcReclaimsTheBytes()
    {
        var admin = Admin();
        var client = await WireAsync("app");
        var v1 = await PushAsync(client, "app", "v1");
        var v2 = await PushAsync(client, "app", "v2", "latest");
        var untagged = await PushAsync(client, "app");
        var v3 = await PushAsync(client, "app", "v3");
        var fresh = await PushAsync(client, "app", TimeSpan.FromHours(12));
        await admin.PutLifecyclePolicyAsync("app", KeepTwoReleases, CancellationToken.None).WithTimeout();

        var preview = await admin.StartLifecyclePolicyPreviewAsync("app", null, CancellationToken.None).WithTimeout();
        var again = await admin.GetLifecyclePolicyPreviewAsync("app", CancellationToken.None).WithTimeout();
        var stillThere = await StatusAsync(client, $"/v2/app/manifests/{v1.Digest}");
        var run = await admin.RunLifecyclePoliciesAsync("app", CancellationToken.None).WithTimeout();
        var runs = await admin.ListLifecycleRunsAsync(null, 10, CancellationToken.None).WithTimeout();
        var policy = await admin.GetLifecyclePolicyAsync("app", CancellationToken.None).WithTimeout();
        var freshAfterRun = await StatusAsync(client, $"/v2/app/manifests/{fresh.Digest}");
        var gc = await _factory.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun: false, CancellationToken.None).WithTimeout();

        // Rule 1 keeps v3 and v2 (v2 also has 'latest': every prefix matches one of the tags); rule 2 takes the untagged
        // image older than a day and leaves the one pushed 12 hours ago.
        Assert.Equal("COMPLETE", preview.Status);
        Assert.Equal(
            [(v1.Digest, "v1", 1), (untagged.Digest, "", 2)],
            preview.PreviewResults.Select(r => (r.ImageDigest, string.Join(',', r.ImageTags), r.AppliedRulePriority)));
        Assert.Equal(2, preview.Summary.ExpiringImageTotalCount);
        Assert.All(preview.PreviewResults, r => Assert.Equal("EXPIRE", r.Action.Type));
        Assert.Equal("rule 1: 3rd youngest of 3 images tagged with prefixes [v]; imageCountMoreThan 2", preview.PreviewResults[0].Reason);
        Assert.Equal("rule 2: untagged images; pushed 2 days ago, sinceImagePushed 1 days", preview.PreviewResults[1].Reason);
        Assert.Equal(preview.PreviewResults.Select(Describe), again.PreviewResults.Select(Describe));
        Assert.Equal(HttpStatusCode.OK, stillThere);

        Assert.Equal((1, 2, LifecyclePolicies.Manual), (run.RepositoriesEvaluated, run.ImagesExpired, run.Trigger));
        Assert.Equal([v1.Digest, untagged.Digest], run.Expirations.Select(e => e.ImageDigest));
        Assert.Equal(["v1"], run.Expirations[0].ImageTags);
        Assert.Equal(run.Id, Assert.Single(runs).Id);
        Assert.Equal(run.Expirations.Select(Describe), runs[0].Expirations.Select(Describe));
        Assert.Equal(_factory.Time.GetUtcNow(), policy.LastEvaluatedAt);

        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, "/v2/app/manifests/v1"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, $"/v2/app/manifests/{v1.Digest}"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, $"/v2/app/manifests/{untagged.Digest}"));
        Assert.Equal(HttpStatusCode.OK, freshAfterRun);
        foreach (var kept in new[] { "v2", "latest", "v3" })
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/app/manifests/{kept}"));
        }

        // The garbage collector (review delay 0 here) takes the bytes the expired images referenced (and, being a
        // collector, the untagged manifest the policy kept: untagged manifests are its own business).
        Assert.Equal([fresh.Digest], gc.Manifests.Select(m => m.Digest));
        Assert.Equal(Blobs(v1.Manifest).Concat(Blobs(untagged.Manifest)).Concat(Blobs(fresh.Manifest)).Order(), gc.Blobs.Select(b => b.Digest).Order());
        foreach (var blob in Blobs(v1.Manifest).Concat(Blobs(untagged.Manifest)))
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, $"/v2/app/blobs/{blob}"));
        }

        foreach (var blob in Blobs(v2.Manifest).Concat(Blobs(v3.Manifest)))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/app/blobs/{blob}"));
        }
    }

    [Fact]
    public async Task APreviewOfACandidatePolicy_DoesNotNeedAStoredOne()
    {
        var admin = Admin();
        var client = await WireAsync("app");
        var old = await PushAsync(client, "app", "v1");
        await PushAsync(client, "app", "v2");

        var preview = await admin.StartLifecyclePolicyPreviewAsync("app", KeepTwoReleases.Replace("\"countNumber\": 2", "\"countNumber\": 1", StringComparison.Ordinal), CancellationToken.None).WithTimeout();

        Assert.Equal([old.Digest], preview.PreviewResults.Select(r => r.ImageDigest));
        await Assert.ThrowsAsync<RegistryApiException>(() => admin.GetLifecyclePolicyAsync("app", CancellationToken.None));
    }

    [Fact]
    public async Task ImmutableTags_AnExpiredImageGoesWhole_AndIndexChildrenStayWithTheirIndex()
    {
        var admin = Admin();
        await admin.CreateRepositoryAsync(new CreateRepositoryRequest("frozen", "IMMUTABLE"), CancellationToken.None);
        var client = await WireAsync("frozen");
        var old = await PushAsync(client, "frozen", "v1", "v1.0");
        var child = await PushAsync(client, "frozen");
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray(RegistryTestClient.Descriptor(RegistryTestClient.DockerManifest, child.Digest, System.Text.Encoding.UTF8.GetByteCount(child.Manifest))),
        }.ToJsonString();
        await WireAsync("frozen", client);
        using (var put = await client.PutManifestAsync("frozen", "multi", index, "application/vnd.oci.image.index.v1+json"))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        _factory.Time.Advance(TimeSpan.FromDays(1));
        await PushAsync(client, "frozen", "v2");
        await admin.PutLifecyclePolicyAsync("frozen", """
            {"rules": [
              {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
              {"rulePriority": 9, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30}, "action": {"type": "expire"}}
            ]}
            """, CancellationToken.None);

        var run = await admin.RunLifecyclePoliciesAsync(null, CancellationToken.None).WithTimeout();

        // v1 and v1.0 went with their image (a deletion the wire refuses for an immutable tag); the untagged child of
        // the index is no image of its own, whatever its age.
        var expired = Assert.Single(run.Expirations);
        Assert.Equal((old.Digest, "v1,v1.0"), (expired.ImageDigest, string.Join(',', expired.ImageTags)));
        await WireAsync("frozen", client);
        using (var tags = await client.GetAsync("/v2/frozen/tags/list").WithTimeout())
        {
            Assert.Equal(["multi", "v2"], JsonDocument.Parse(await tags.Content.ReadAsStringAsync()).RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/frozen/manifests/{child.Digest}"));

        // Two months on, rule 9 takes the index (v2 is rule 1's, kept); its child is an image of its own only once the
        // index is gone, so the run after that takes it.
        _factory.Time.Advance(TimeSpan.FromDays(60));
        var later = await admin.RunLifecyclePoliciesAsync("frozen", CancellationToken.None).WithTimeout();
        var last = await admin.RunLifecyclePoliciesAsync("frozen", CancellationToken.None).WithTimeout();

        Assert.Equal((9, "multi"), (Assert.Single(later.Expirations).AppliedRulePriority, string.Join(',', later.Expirations[0].ImageTags)));
        Assert.Equal(child.Digest, Assert.Single(last.Expirations).ImageDigest);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/v2/frozen/manifests/v2"));
    }

    [Fact]
    public async Task SinceImagePulled_CountsAPullNotYetFlushed()
    {
        var admin = Admin();
        var client = await WireAsync("app");
        var pulled = await PushAsync(client, "app", "pulled");
        var idle = await PushAsync(client, "app", "idle");
        _factory.Time.Advance(TimeSpan.FromDays(10));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "/v2/app/manifests/pulled"));
        _factory.Time.Advance(TimeSpan.FromDays(3));
        await admin.PutLifecyclePolicyAsync("app", """
            {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 7}, "action": {"type": "expire"}}]}
            """, CancellationToken.None);

        var run = await admin.RunLifecyclePoliciesAsync("app", CancellationToken.None).WithTimeout();

        Assert.Equal([idle.Digest], run.Expirations.Select(e => e.ImageDigest));
        Assert.Contains("never pulled", run.Expirations[0].Reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, $"/v2/app/manifests/{pulled.Digest}"));
    }

    [Fact]
    public async Task TheBackgroundWorker_AppliesPoliciesEveryInterval_OnTheClock()
    {
        _factory.Settings["Registry:Lifecycle:Enabled"] = "true";
        _factory.Settings["Registry:Lifecycle:Interval"] = "01:00:00";
        var admin = Admin();
        var client = await WireAsync("app");
        var old = await PushAsync(client, "app", "v1");
        await PushAsync(client, "app", "v2");
        var expiredOld = new TaskCompletionSource<LifecycleRun>(TaskCreationOptions.RunContinuationsAsynchronously);
        _factory.Services.GetRequiredService<LifecyclePolicies>().RunFinished += (_, run) =>
        {
            if (run.Expirations.Any(e => e.Digest == old.Digest))
            {
                expiredOld.TrySetResult(run);
            }
        };
        await admin.PutLifecyclePolicyAsync("app", KeepTwoReleases.Replace("\"countNumber\": 2", "\"countNumber\": 1", StringComparison.Ordinal), CancellationToken.None);

        // The pushes moved the clock by days, so the worker has run already (nothing to apply then); the next tick applies the policy.
        _factory.Time.Advance(TimeSpan.FromHours(1));
        var run = await expiredOld.Task.WithTimeout();
        var runs = await admin.ListLifecycleRunsAsync(null, 10, CancellationToken.None);

        Assert.Equal((LifecyclePolicies.Scheduled, 1), (run.Trigger, run.ImagesExpired));
        Assert.Contains(runs, r => r.Id == run.Id && r.Expirations.Single().ImageDigest == old.Digest);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(client, "/v2/app/manifests/v1"));
    }
}

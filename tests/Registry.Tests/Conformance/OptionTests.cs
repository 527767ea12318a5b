using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Registry.Manifests;
using Berth.Registry.Tests.Auth;
using Berth.Registry.Tests.Manifests;
using Microsoft.Extensions.Configuration;
using static Berth.Registry.Tests.Infrastructure.RegistryTestClient;

namespace Berth.Registry.Tests.Conformance;

/// <summary>
/// The options the conformance suites toggle: sparse manifests (off, indexes, everything) and automatic content
/// discovery for mounts. The suite classes run with both on; these check each setting, the default included.
/// </summary>
public sealed class OptionTests : IDisposable
{
    private readonly List<AuthRegistryFactory> _factories = [];

    public void Dispose()
    {
        foreach (var factory in _factories)
        {
            factory.Dispose();
        }
    }

    [Fact]
    public void SparseSwitch_MapsToTheOption_CaseInsensitively()
    {
        var configuration = new ConfigurationBuilder()
            .AddCommandLine(["--allow-sparse-manifests", "index", "--data-dir", "/srv/registry"], RegistryOptions.SwitchMappings)
            .Build();

        var options = new RegistryOptions();
        configuration.GetSection(RegistryOptions.SectionName).Bind(options);

        Assert.Equal(SparseManifests.Index, options.SparseManifests);
        Assert.Equal(SparseManifests.None, new RegistryOptions().SparseManifests);
        Assert.True(new RegistryOptions().AutomaticContentDiscovery);
    }

    [Fact]
    public void UnknownSparseSetting_StopsTheRegistryAtStart_NamingTheSetting()
    {
        var factory = Registry(("Registry:SparseManifests", "sometimes"));

        var exception = Assert.ThrowsAny<InvalidOperationException>(() => factory.CreateClient());

        Assert.Contains("SparseManifests", exception.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false, false)]
    [InlineData("None", false, false)]
    [InlineData("Index", true, false)]
    [InlineData("All", true, true)]
    public async Task SparseManifests_AreAcceptedOnlyAsFarAsConfigured(string? setting, bool indexAccepted, bool imageAccepted)
    {
        using var client = Registry(setting is null ? [] : [("Registry:SparseManifests", setting)]).CreateClient();
        const string repository = "sparse/app";
        var config = await client.PushBlobAsync(repository, Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}"));
        var present = await client.PushBlobAsync(repository, RandomBytes(300));
        var absentLayer = Sha256(RandomBytes(300));
        var sparseImage = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config, 37),
            ["layers"] = new JsonArray(Descriptor(OciLayer, present, 300), Descriptor(OciLayer, absentLayer, 300)),
        }.ToJsonString();
        var completeImage = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config, 37),
            ["layers"] = new JsonArray(Descriptor(OciLayer, present, 300)),
        }.ToJsonString();
        await (await client.PutManifestAsync(repository, "complete", completeImage, OciManifest)).EnsureCreatedAsync();
        var absentChild = Sha256(RandomBytes(64));
        var sparseIndex = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciIndex,
            ["manifests"] = new JsonArray(Descriptor(OciManifest, Sha256(Encoding.UTF8.GetBytes(completeImage)), completeImage.Length), Descriptor(OciManifest, absentChild, 64)),
        }.ToJsonString();

        using var index = await client.PutManifestAsync(repository, "sparse-index", sparseIndex, OciIndex);
        using var image = await client.PutManifestAsync(repository, "sparse-image", sparseImage, OciManifest);

        await ExpectAsync(index, indexAccepted, absentChild);
        await ExpectAsync(image, imageAccepted, absentLayer);
        // What was accepted is served whole; the content it lacks stays unknown.
        Assert.Equal(indexAccepted ? HttpStatusCode.OK : HttpStatusCode.NotFound, (await client.GetAsync($"/v2/{repository}/manifests/sparse-index")).StatusCode);
        Assert.Equal(imageAccepted ? HttpStatusCode.OK : HttpStatusCode.NotFound, (await client.GetAsync($"/v2/{repository}/manifests/sparse-image")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v2/{repository}/manifests/{absentChild}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v2/{repository}/blobs/{absentLayer}")).StatusCode);

        static async Task ExpectAsync(HttpResponseMessage response, bool accepted, string missing)
        {
            if (accepted)
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                return;
            }

            var errors = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
            Assert.Equal(missing, Assert.Single(errors.EnumerateArray()).GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task SparseImage_ThatReferencesAnAbsentConfig_IsStoredAndItsBlobsCanBePushedLater()
    {
        using var client = Registry(("Registry:SparseManifests", "All")).CreateClient();
        var config = Encoding.UTF8.GetBytes("{\"os\":\"linux\"}");
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", Sha256(config), config.Length),
            ["layers"] = new JsonArray(),
        }.ToJsonString();

        await (await client.PutManifestAsync("sparse/late", "v1", manifest, OciManifest)).EnsureCreatedAsync();
        await client.PushBlobAsync("sparse/late", config);

        Assert.Equal(config, await client.GetByteArrayAsync($"/v2/sparse/late/blobs/{Sha256(config)}"));
        Assert.Equal(manifest, await client.GetStringAsync("/v2/sparse/late/manifests/v1"));
    }

    [Theory]
    [InlineData(true, HttpStatusCode.Created)]
    [InlineData(false, HttpStatusCode.Accepted)]
    public async Task MountWithoutFrom_FollowsAutomaticContentDiscovery(bool enabled, HttpStatusCode expected)
    {
        using var client = Registry(("Registry:AutomaticContentDiscovery", enabled ? "true" : "false")).CreateClient();
        var digest = await client.PushBlobAsync("discovery/source", RandomBytes(500));

        using var mount = await client.PostAsync($"/v2/discovery/target/blobs/uploads/?mount={digest}", null);

        Assert.Equal(expected, mount.StatusCode);
        // With a source named, the option does not matter: that is a plain cross-repository mount.
        using var withFrom = await client.PostAsync($"/v2/discovery/other/blobs/uploads/?mount={digest}&from=discovery/source", null);
        Assert.Equal(HttpStatusCode.Created, withFrom.StatusCode);
        // Without a source, the option decides even when the target holds the blob already (the v1.1.1 suite asks
        // exactly this right after a mount).
        using var again = await client.PostAsync($"/v2/discovery/other/blobs/uploads/?mount={digest}", null);
        Assert.Equal(expected, again.StatusCode);
    }

    private AuthRegistryFactory Registry(params (string Key, string Value)[] settings)
    {
        var factory = new AuthRegistryFactory();
        factory.Settings["Registry:Auth:Enabled"] = "false";
        foreach (var (key, value) in settings)
        {
            factory.Settings[key] = value;
        }

        _factories.Add(factory);
        return factory;
    }
}

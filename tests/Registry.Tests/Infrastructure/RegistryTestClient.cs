using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.TestSupport;

namespace Berth.Registry.Tests.Infrastructure;

/// <summary>Small helpers over HttpClient that speak the distribution API the way clients do.</summary>
public static class RegistryTestClient
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

    public static string Sha256(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static string Sha512(byte[] content) => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(content));

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Monolithic upload (POST ?digest= with the body); returns the digest.</summary>
    public static async Task<string> PushBlobAsync(this HttpClient client, string repository, byte[] content)
    {
        var digest = Sha256(content);
        using var response = await client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(content)).WithTimeout();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return digest;
    }

    public static async Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string repository, string reference, string json, string mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await client.PutAsync($"/v2/{repository}/manifests/{reference}", content).WithTimeout();
    }

    /// <summary>Pushes a config and <paramref name="layerCount"/> layers, returns a docker schema2 manifest for them.</summary>
    public static async Task<string> PushImageBlobsAsync(this HttpClient client, string repository, int layerCount = 2, string mediaType = DockerManifest)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var configDigest = await client.PushBlobAsync(repository, config);
        var layers = new JsonArray();
        for (var i = 0; i < layerCount; i++)
        {
            var layer = RandomBytes(1000 + i);
            var digest = await client.PushBlobAsync(repository, layer);
            layers.Add(Descriptor(mediaType == DockerManifest ? DockerLayer : OciLayer, digest, layer.Length));
        }

        return new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["config"] = Descriptor(mediaType == DockerManifest ? DockerConfig : "application/vnd.oci.image.config.v1+json", configDigest, config.Length),
            ["layers"] = layers,
        }.ToJsonString();
    }

    public static JsonObject Descriptor(string mediaType, string digest, long size) =>
        new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    /// <summary>Asserts the spec's error response: status, JSON body with the code, and the API version header.</summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("registry/2.0", Assert.Single(response.Headers.GetValues("Docker-Distribution-API-Version")));
        using var document = JsonDocument.Parse(body);
        var errors = document.RootElement.GetProperty("errors");
        Assert.True(errors.GetArrayLength() > 0);
        foreach (var error in errors.EnumerateArray())
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        }

        return errors.Clone();
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues)
        : throw new Xunit.Sdk.XunitException($"response has no {name} header");

    /// <summary>Path and query of an absolute Location, for the next request of an upload.</summary>
    public static string LocationPath(this HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new Xunit.Sdk.XunitException("no Location header");
        Assert.True(location.IsAbsoluteUri, $"Location {location} must be absolute");
        return location.PathAndQuery;
    }
}

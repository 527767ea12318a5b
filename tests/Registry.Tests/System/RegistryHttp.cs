using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Berth.TestSupport;

namespace Berth.Registry.Tests.SystemTests;

/// <summary>
/// Raw distribution-API calls for what no CLI does on demand (an index built by hand, an upload cut off at a chosen byte)
/// and for checking what the registry serves: every blob's bytes must hash to its digest.
/// </summary>
public sealed class RegistryHttp(Uri baseAddress, Action<string> log) : IDisposable
{
    /// <summary>OCI image manifest media type.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>OCI image index media type.</summary>
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>Docker schema 2 manifest media type.</summary>
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>Docker manifest list media type.</summary>
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    private static readonly string[] s_manifestTypes = [OciManifest, OciIndex, DockerManifest, DockerManifestList];

    /// <summary>The client, for calls this class does not wrap.</summary>
    public HttpClient Client { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromMinutes(3),
    };

    /// <summary>The sha256 digest string of <paramref name="data"/>.</summary>
    public static string Sha256(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Starts an upload session and returns its Location, as absolute URI.</summary>
    public async Task<Uri> StartUploadAsync(string repository)
    {
        using var response = await Client.PostAsync($"v2/{repository}/blobs/uploads/", null).WithTimeout();
        await ExpectAsync(response, HttpStatusCode.Accepted, $"POST /v2/{repository}/blobs/uploads/");
        return Resolve(response.Headers.Location ?? throw new InvalidOperationException("202 without Location"));
    }

    /// <summary>Uploads <paramref name="data"/> with POST then PUT ?digest= carrying the body, and returns its digest.</summary>
    public async Task<string> PushBlobAsync(string repository, byte[] data)
    {
        var digest = Sha256(data);
        var location = await StartUploadAsync(repository);
        using var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Client.PutAsync(WithDigest(location, digest), content).WithTimeout();
        await ExpectAsync(response, HttpStatusCode.Created, $"PUT upload of {digest}");
        return digest;
    }

    /// <summary>PUTs a manifest under <paramref name="reference"/> (tag or digest) and returns its digest.</summary>
    public async Task<string> PutManifestAsync(string repository, string reference, string mediaType, byte[] manifest)
    {
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await Client.PutAsync($"v2/{repository}/manifests/{reference}", content).WithTimeout();
        await ExpectAsync(response, HttpStatusCode.Created, $"PUT /v2/{repository}/manifests/{reference}");
        var digest = Sha256(manifest);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values))
        {
            var served = values.Single();
            if (served != digest)
            {
                throw new InvalidOperationException($"PUT manifest answered Docker-Content-Digest {served}, expected {digest}");
            }
        }

        return digest;
    }

    /// <summary>HEAD of a blob: its status and Content-Length.</summary>
    public async Task<(HttpStatusCode Status, long? Length)> HeadBlobAsync(string repository, string digest)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/blobs/{digest}");
        using var response = await Client.SendAsync(request).WithTimeout();
        log($"HEAD /v2/{repository}/blobs/{digest} -> {(int)response.StatusCode}");
        return (response.StatusCode, response.Content.Headers.ContentLength);
    }

    /// <summary>GETs a blob, streaming it through SHA-256, and fails unless the bytes hash to <paramref name="digest"/>.</summary>
    /// <returns>The number of bytes, or null when the registry answered 404.</returns>
    public async Task<long?> GetBlobVerifiedAsync(string repository, string digest)
    {
        using var response = await Client.GetAsync($"v2/{repository}/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            log($"GET /v2/{repository}/blobs/{digest} -> 404");
            return null;
        }

        await ExpectAsync(response, HttpStatusCode.OK, $"GET /v2/{repository}/blobs/{digest}");
        var algorithm = digest.StartsWith("sha512:", StringComparison.Ordinal) ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
        using var hash = IncrementalHash.CreateHash(algorithm);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 20];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer).AsTask().WithTimeout()) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        var actual = $"{digest[..digest.IndexOf(':', StringComparison.Ordinal)]}:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
        log($"GET /v2/{repository}/blobs/{digest} -> 200, {total} bytes hashing to {actual}");
        if (actual != digest)
        {
            throw new InvalidOperationException($"GET /v2/{repository}/blobs/{digest} served {total} bytes that hash to {actual}");
        }

        return total;
    }

    /// <summary>GETs a manifest with every manifest type accepted; returns its bytes and Content-Type.</summary>
    public async Task<(byte[] Body, string? ContentType)> GetManifestAsync(string repository, string reference)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{reference}");
        foreach (var type in s_manifestTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await Client.SendAsync(request).WithTimeout();
        await ExpectAsync(response, HttpStatusCode.OK, $"GET /v2/{repository}/manifests/{reference}");
        return (await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>
    /// Walks every repository in the catalog, every tag, every manifest and child manifest, and GETs every blob they
    /// reference: all must exist and hash to their digests. Returns the number of blobs checked.
    /// </summary>
    public async Task<int> VerifyEverythingServedAsync()
    {
        using var catalogResponse = await Client.GetAsync("v2/_catalog?n=1000").WithTimeout();
        await ExpectAsync(catalogResponse, HttpStatusCode.OK, "GET /v2/_catalog");
        var catalog = JsonNode.Parse(await catalogResponse.Content.ReadAsStringAsync())!;
        var blobs = 0;
        foreach (var repository in catalog["repositories"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [])
        {
            using var tagsResponse = await Client.GetAsync($"v2/{repository}/tags/list").WithTimeout();
            await ExpectAsync(tagsResponse, HttpStatusCode.OK, $"GET /v2/{repository}/tags/list");
            var tags = JsonNode.Parse(await tagsResponse.Content.ReadAsStringAsync())!["tags"]?.AsArray() ?? [];
            foreach (var tag in tags.Select(t => t!.GetValue<string>()))
            {
                blobs += await VerifyManifestAsync(repository, tag);
            }
        }

        return blobs;
    }

    /// <summary>Verifies one manifest (recursively for an index) and every blob it references; returns the blob count.</summary>
    public async Task<int> VerifyManifestAsync(string repository, string reference)
    {
        var (body, _) = await GetManifestAsync(repository, reference);
        if (reference.Contains(':', StringComparison.Ordinal) && Sha256(body) != reference)
        {
            throw new InvalidOperationException($"Manifest {repository}@{reference} served bytes hashing to {Sha256(body)}");
        }

        var manifest = JsonNode.Parse(body)!;
        var blobs = 0;
        if (manifest["manifests"] is JsonArray children)
        {
            foreach (var child in children)
            {
                blobs += await VerifyManifestAsync(repository, child!["digest"]!.GetValue<string>());
            }

            return blobs;
        }

        var descriptors = (manifest["layers"]?.AsArray() ?? []).Append(manifest["config"]).Where(d => d is not null);
        foreach (var descriptor in descriptors)
        {
            var digest = descriptor!["digest"]!.GetValue<string>();
            var size = await GetBlobVerifiedAsync(repository, digest)
                ?? throw new InvalidOperationException($"{repository}@{reference} references {digest}, which is not served");
            if (size != descriptor["size"]!.GetValue<long>())
            {
                throw new InvalidOperationException($"{digest} served {size} bytes, the manifest says {descriptor["size"]}");
            }

            blobs++;
        }

        return blobs;
    }

    /// <summary>Appends <c>digest=</c> to an upload Location the way clients do (with <c>&amp;</c> when it has a query).</summary>
    public static Uri WithDigest(Uri location, string digest)
    {
        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        return new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest));
    }

    /// <summary>Resolves a Location header against the registry's address.</summary>
    public Uri Resolve(Uri location) => location.IsAbsoluteUri ? location : new Uri(Client.BaseAddress!, location);

    /// <summary>Fails with the response body when the status is not <paramref name="expected"/>.</summary>
    public async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        log($"{what} -> {(int)response.StatusCode}");
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            throw new InvalidOperationException($"{what}: expected {(int)expected}, got {(int)response.StatusCode} {body}");
        }
    }

    /// <summary>Serializes a JSON document to the exact bytes that will be stored and hashed.</summary>
    public static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    /// <inheritdoc />
    public void Dispose() => Client.Dispose();
}

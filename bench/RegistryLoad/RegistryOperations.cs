using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Berth.Bench.RegistryLoad;

/// <summary>How a push sends its layer, as the clients in ../shared/REGISTRY-WIRE.md do.</summary>
internal enum PushMode
{
    /// <summary>POST, then PUT ?digest= with the whole body and its Content-Length.</summary>
    Monolithic,

    /// <summary>POST, one PATCH with chunked transfer encoding and no length (dockerd), PUT ?digest= empty.</summary>
    Streamed,

    /// <summary>POST, several PATCH with Content-Range and Content-Length, PUT ?digest= empty.</summary>
    Chunked,
}

/// <summary>A request the registry did not answer as the distribution spec says it must.</summary>
internal sealed class RegistryException(string message) : Exception(message);

/// <summary>The registry calls the workloads are made of. Every response body is read to its end or not at all.</summary>
internal sealed class RegistryOperations(HttpClient http, int? chunkSize)
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    private const int StreamWriteSize = 32 << 10;
    private const int KnownLengthWriteSize = 1 << 20;
    private static readonly MediaTypeHeaderValue s_octetStream = new("application/octet-stream");
    private static readonly MediaTypeHeaderValue s_manifestType = new(DockerManifest);

    /// <summary>The populated large registry that get-manifest-spread reads (repositories, manifests per repository).</summary>
    public (int Repositories, int PerRepository) Scale { get; init; } = (100_000, 10);
    private static readonly string[] s_accept =
    [
        DockerManifest,
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ];

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("v2/", cancellationToken);
        await DrainAsync(response, HttpStatusCode.OK, "GET /v2/", cancellationToken);
    }

    public async Task CatalogAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("v2/_catalog?n=100", cancellationToken);
        await DrainAsync(response, HttpStatusCode.OK, "GET /v2/_catalog", cancellationToken);
    }

    public async Task HeadBlobAsync(string repository, string digest, long expectedLength, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/blobs/{digest}");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await DrainAsync(response, HttpStatusCode.OK, "HEAD blob", cancellationToken);
        if (response.Content.Headers.ContentLength != expectedLength)
        {
            throw new RegistryException($"HEAD blob: Content-Length {response.Content.Headers.ContentLength}, expected {expectedLength}");
        }
    }

    /// <summary>GET of a manifest by tag with the Accept list docker sends; returns the body.</summary>
    public async Task<byte[]> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{reference}");
        foreach (var type in s_accept)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await DrainAsync(response, HttpStatusCode.OK, "GET manifest", cancellationToken);
        }

        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>Pulls an image as docker does (manifest by tag, then config and layers); returns blob bytes read.</summary>
    public async Task<long> PullImageAsync(string repository, string tag, byte[] buffer, CancellationToken cancellationToken)
    {
        var manifest = await GetManifestAsync(repository, tag, cancellationToken);
        using var document = JsonDocument.Parse(manifest);
        var descriptors = document.RootElement.GetProperty("layers").EnumerateArray().Prepend(document.RootElement.GetProperty("config"));
        long total = 0;
        foreach (var descriptor in descriptors)
        {
            var digest = descriptor.GetProperty("digest").GetString();
            var size = descriptor.GetProperty("size").GetInt64();
            using var response = await http.GetAsync($"v2/{repository}/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await DrainAsync(response, HttpStatusCode.OK, "GET blob", cancellationToken);
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            long read = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                read += n;
            }

            if (read != size)
            {
                throw new RegistryException($"GET blob {digest}: {read} bytes, the manifest says {size}");
            }

            total += read;
        }

        return total;
    }

    /// <summary>Pushes an image: the layer (by <paramref name="mode"/>), a config naming it, and a manifest under <paramref name="tag"/>.</summary>
    /// <returns>Blob bytes sent.</returns>
    public async Task<long> PushImageAsync(string repository, string tag, Blob layer, PushMode mode, CancellationToken cancellationToken)
    {
        await UploadAsync(repository, layer, mode, cancellationToken);
        var config = Encoding.UTF8.GetBytes(
            $$$"""{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["{{{layer.Digest}}}"]}}""");
        var configBlob = new Blob(config, ReadOnlyMemory<byte>.Empty, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(config)));
        await UploadAsync(repository, configBlob, PushMode.Monolithic, cancellationToken);
        var manifest = Encoding.UTF8.GetBytes($$$"""
            {"schemaVersion":2,"mediaType":"{{{DockerManifest}}}",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{{config.Length}}},"digest":"{{{configBlob.Digest}}}"},
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{{layer.Length}}},"digest":"{{{layer.Digest}}}"}]}
            """);
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = s_manifestType;
        using var response = await http.PutAsync($"v2/{repository}/manifests/{tag}", content, cancellationToken);
        await DrainAsync(response, HttpStatusCode.Created, "PUT manifest", cancellationToken);
        return layer.Length + config.Length;
    }

    private async Task UploadAsync(string repository, Blob blob, PushMode mode, CancellationToken cancellationToken)
    {
        Uri location;
        using (var started = await http.PostAsync($"v2/{repository}/blobs/uploads/", null, cancellationToken))
        {
            await DrainAsync(started, HttpStatusCode.Accepted, "POST upload", cancellationToken);
            location = NextLocation(started, null);
        }

        HttpContent? last = null;
        switch (mode)
        {
            case PushMode.Monolithic:
                last = Body(blob.Slice(0, blob.Length), knownLength: true);
                break;
            case PushMode.Streamed:
                location = await PatchAsync(location, Body(blob.Slice(0, blob.Length), knownLength: false), null, cancellationToken);
                break;
            case PushMode.Chunked:
                var chunk = chunkSize ?? (int)Math.Clamp(blob.Length / 4, 1, 5 << 20);
                for (long offset = 0; offset < blob.Length; offset += chunk)
                {
                    var count = Math.Min(chunk, blob.Length - offset);
                    location = await PatchAsync(location, Body(blob.Slice(offset, count), knownLength: true), $"{offset}-{offset + count - 1}", cancellationToken);
                }

                break;
        }

        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        using var put = new HttpRequestMessage(HttpMethod.Put, $"{location}{separator}digest={Uri.EscapeDataString(blob.Digest)}") { Content = last };
        using var response = await http.SendAsync(put, cancellationToken);
        await DrainAsync(response, HttpStatusCode.Created, $"PUT upload ({mode})", cancellationToken);
    }

    private async Task<Uri> PatchAsync(Uri location, HttpContent body, string? contentRange, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = body };
        if (contentRange is not null)
        {
            body.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        await DrainAsync(response, HttpStatusCode.Accepted, "PATCH upload", cancellationToken);
        return NextLocation(response, location);
    }

    private static SlicesContent Body(IEnumerable<ReadOnlyMemory<byte>> slices, bool knownLength)
    {
        var content = new SlicesContent(slices.ToList(), knownLength, knownLength ? KnownLengthWriteSize : StreamWriteSize);
        content.Headers.ContentType = s_octetStream;
        return content;
    }

    private Uri NextLocation(HttpResponseMessage response, Uri? current)
    {
        var location = response.Headers.Location ?? current ?? throw new RegistryException($"{(int)response.StatusCode} without Location");
        return location.IsAbsoluteUri ? location : new Uri(http.BaseAddress!, location);
    }

    private static async Task DrainAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != expected)
        {
            throw new RegistryException($"{what}: {(int)response.StatusCode} (expected {(int)expected}) {body[..Math.Min(body.Length, 200)]}");
        }
    }
}

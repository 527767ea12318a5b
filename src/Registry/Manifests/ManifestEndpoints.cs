using System.Buffers;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Caching;
using Berth.Registry.Storage.Index;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Manifests;

/// <summary><c>GET|HEAD|PUT|DELETE /v2/&lt;name&gt;/manifests/&lt;tag or digest&gt;</c>.</summary>
internal sealed class ManifestEndpoints(RegistryStore store, IOptions<RegistryOptions> options)
{
    private readonly int _maxManifestBytes = options.Value.MaxManifestBytes;

    /// <summary>
    /// GET and HEAD are hot paths: answered from the in-memory index (HEAD never does I/O) and the body cache, and
    /// without allocating when the body is cached; a GET whose body is not cached reads it from the metadata store.
    /// </summary>
    public Task GetAsync(HttpContext context, RegistryRoute route, bool head)
    {
        var manifest = Resolve(route);
        if (!AcceptHeader.Accepts(context.Request.Headers.Accept, manifest.MediaType))
        {
            throw new RegistryException(
                StatusCodes.Status404NotFound,
                ErrorCodes.ManifestUnknown,
                "manifest unknown",
                $"the manifest is {manifest.MediaType}, which the Accept header does not list");
        }

        if (head)
        {
            var cached = store.CachedManifestBody(manifest);
            var digest = cached?.Digest ?? manifest.ToString();
            WriteHeaders(context.Response, manifest.MediaType, digest, cached?.ETag ?? $"\"{digest}\"", manifest.Size);
            return Task.CompletedTask;
        }

        var body = store.GetManifestBodyAsync(manifest, context.RequestAborted);
        return body.IsCompletedSuccessfully ? WriteBodyAsync(context, route, manifest.MediaType, body.Result) : AwaitBodyAsync(context, route, manifest.MediaType, body);
    }

    private static async Task AwaitBodyAsync(HttpContext context, RegistryRoute route, string mediaType, ValueTask<CachedManifest?> body) =>
        await WriteBodyAsync(context, route, mediaType, await body);

    private static Task WriteBodyAsync(HttpContext context, RegistryRoute route, string mediaType, CachedManifest? body)
    {
        // Null: deleted between the index lookup and the read.
        var manifest = body ?? throw RegistryException.ManifestUnknown(route.Argument.ToString());
        WriteHeaders(context.Response, mediaType, manifest.Digest, manifest.ETag, manifest.Content.Length);
        return context.Response.Body.WriteAsync(manifest.Content, context.RequestAborted).AsTask();
    }

    private static void WriteHeaders(HttpResponse response, string mediaType, string digest, string etag, long length)
    {
        response.StatusCode = StatusCodes.Status200OK;
        var headers = response.Headers;
        headers.ContentType = mediaType;
        headers[RegistryHeaders.ContentDigest] = digest;
        headers.ETag = etag;
        response.ContentLength = length;
    }

    public async Task PutAsync(HttpContext context, RegistryRoute route)
    {
        var name = route.Name.ToString();
        var reference = route.Argument.ToString();
        var referenceIsDigest = reference.Contains(':', StringComparison.Ordinal);
        Digest? referenceDigest = null;
        var tags = new List<string>();
        if (referenceIsDigest)
        {
            referenceDigest = Digest.TryParse(reference, out var d) ? d : throw RegistryException.DigestMalformed(route.Argument);
            // OCI 1.1: PUT by digest may tag it too (?tag=a&tag=b).
            foreach (var tag in context.Request.Query["tag"])
            {
                tags.Add(TagName.IsValid(tag) ? tag : throw RegistryException.TagInvalid($"invalid tag '{tag}'"));
            }
        }
        else
        {
            tags.Add(TagName.IsValid(reference) ? reference : throw RegistryException.TagInvalid($"invalid tag '{reference}'"));
        }

        var content = await ReadBodyAsync(context);
        var parsed = ManifestParser.Parse(content, context.Request.ContentType);
        var digest = Digest.Compute(content, referenceDigest?.Algorithm ?? Digest.Sha256);
        if (referenceDigest is { } expected && expected != digest)
        {
            throw RegistryException.DigestInvalid($"the manifest's digest is {digest}, the URL says {expected}");
        }

        var blobDigests = RequiredBlobs(parsed).Select(d => d.Digest).ToList();
        var childDigests = parsed.Manifests.Select(d => d.Digest).ToList();
        var entry = await store.PutManifestAsync(
            name,
            new NewManifest(digest.ToString(), parsed.MediaType, parsed.ArtifactType, parsed.Subject?.Digest, content, blobDigests, childDigests),
            tags,
            references => CheckReferences(references, parsed),
            context.RequestAborted);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = RegistryHeaders.AbsoluteUrl(context.Request, $"/v2/{name}/manifests/{entry.Digest}");
        response.Headers[RegistryHeaders.ContentDigest] = entry.Digest;
        if (parsed.Subject is { } subject)
        {
            // OCI 1.1: tells the client that this registry indexes referrers, so it need not push a fallback tag.
            response.Headers[RegistryHeaders.Subject] = subject.Digest;
        }

        response.ContentLength = 0;
    }

    public async Task DeleteAsync(HttpContext context, RegistryRoute route)
    {
        var reference = route.Argument.Span;
        var isDigest = reference.Contains(':');
        if (isDigest && !Digest.IsValid(reference))
        {
            throw RegistryException.DigestMalformed(route.Argument);
        }

        if (!isDigest && !TagName.IsValid(reference))
        {
            throw RegistryException.TagInvalid($"invalid tag '{route.Argument}'");
        }

        if (!store.TryGetRepository(route.Name.Span, out var repository))
        {
            throw RegistryException.ManifestUnknown(route.Argument.ToString());
        }

        var key = route.Argument.ToString();
        var name = route.Name.ToString();
        var deleted = isDigest
            ? await store.DeleteManifestAsync(repository, name, key, context.RequestAborted)
            : await store.DeleteTagAsync(repository, name, key, context.RequestAborted);
        if (!deleted)
        {
            throw RegistryException.ManifestUnknown(key);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    private IndexedManifest Resolve(RegistryRoute route)
    {
        var reference = route.Argument.Span;
        if (reference.Contains(':'))
        {
            if (!Digest.IsValid(reference))
            {
                throw RegistryException.DigestMalformed(route.Argument);
            }
        }
        else if (!TagName.IsValid(reference))
        {
            throw RegistryException.TagInvalid($"invalid tag '{route.Argument}'");
        }

        if (!store.TryGetRepository(route.Name.Span, out var repository))
        {
            throw RegistryException.NameUnknown(route.Name.ToString());
        }

        return store.TryGetManifest(repository, reference, out var manifest)
            ? manifest
            : throw RegistryException.ManifestUnknown(route.Argument.ToString());
    }

    // Config and layers must be in the repository; layers that live elsewhere (non-distributable, with urls) need not.
    private static IEnumerable<Descriptor> RequiredBlobs(ParsedManifest manifest) =>
        (manifest.Config is { } config ? [config] : Array.Empty<Descriptor>())
            .Concat(manifest.Layers.Where(layer => !MediaTypes.IsNonDistributable(layer.MediaType)));

    // OCI spec: a manifest PUT fails with MANIFEST_BLOB_UNKNOWN (one error per missing blob or child manifest)
    // when it references content the repository does not have. A descriptor whose size is not the stored content's
    // is MANIFEST_INVALID: a client that trusted it would read a truncated or overlong blob.
    private static void CheckReferences(ManifestReferences references, ParsedManifest manifest)
    {
        var errors = new List<RegistryError>();
        foreach (var (where, blob) in RequiredBlobsWithPlaces(manifest))
        {
            if (!references.TryGetBlobSize(blob.Digest, out var size))
            {
                errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "blob unknown to registry", blob.Digest));
            }
            else if (size != blob.Size)
            {
                errors.Add(SizeMismatch(where, blob, size));
            }
        }

        var i = 0;
        foreach (var child in manifest.Manifests)
        {
            var where = $"manifests[{i++}]";
            if (!references.TryGetManifest(child.Digest, out var stored))
            {
                errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "manifest unknown to registry", child.Digest));
            }
            else if (stored.Size != child.Size)
            {
                errors.Add(SizeMismatch(where, child, stored.Size));
            }
        }

        if (errors.Count > 0)
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, errors);
        }
    }

    private static RegistryError SizeMismatch(string where, Descriptor descriptor, long stored) =>
        new(ErrorCodes.ManifestInvalid, "manifest invalid", $"{where} ({descriptor.Digest}) declares size {descriptor.Size}, the stored content has {stored} bytes");

    private static IEnumerable<(string Where, Descriptor Blob)> RequiredBlobsWithPlaces(ParsedManifest manifest)
    {
        if (manifest.Config is { } config)
        {
            yield return ("config", config);
        }

        for (var i = 0; i < manifest.Layers.Count; i++)
        {
            if (!MediaTypes.IsNonDistributable(manifest.Layers[i].MediaType))
            {
                yield return ($"layers[{i}]", manifest.Layers[i]);
            }
        }
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > _maxManifestBytes)
        {
            throw TooLarge();
        }

        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            if (result.Buffer.Length > _maxManifestBytes)
            {
                throw TooLarge();
            }

            if (result.IsCompleted)
            {
                var content = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return content;
            }

            // Keep everything buffered until the body is complete.
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private RegistryException TooLarge() =>
        new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.SizeInvalid, "manifest too large", $"manifests are limited to {_maxManifestBytes} bytes");
}

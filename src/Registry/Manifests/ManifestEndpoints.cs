using System.Buffers;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Microsoft.Extensions.Options;

namespace Berth.Registry.Manifests;

/// <summary><c>GET|HEAD|PUT|DELETE /v2/&lt;name&gt;/manifests/&lt;tag or digest&gt;</c>.</summary>
internal sealed class ManifestEndpoints(RegistryStore store, IOptions<RegistryOptions> options)
{
    private readonly int _maxManifestBytes = options.Value.MaxManifestBytes;

    /// <summary>GET and HEAD by tag are hot paths: answered from the in-memory index without allocating.</summary>
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

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        var headers = response.Headers;
        headers.ContentType = manifest.MediaType;
        headers[RegistryHeaders.ContentDigest] = manifest.Digest;
        headers.ETag = manifest.ETag;
        response.ContentLength = manifest.Content.Length;
        return head ? Task.CompletedTask : response.Body.WriteAsync(manifest.Content, context.RequestAborted).AsTask();
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
            repository => CheckReferences(repository, parsed),
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
        var deleted = isDigest
            ? await store.DeleteManifestAsync(repository, key, context.RequestAborted)
            : await store.DeleteTagAsync(repository, key, context.RequestAborted);
        if (!deleted)
        {
            throw RegistryException.ManifestUnknown(key);
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
        context.Response.ContentLength = 0;
    }

    private ManifestEntry Resolve(RegistryRoute route)
    {
        var reference = route.Argument.Span;
        ManifestEntry? manifest;
        if (reference.Contains(':'))
        {
            if (!Digest.IsValid(reference))
            {
                throw RegistryException.DigestMalformed(route.Argument);
            }

            if (!store.TryGetRepository(route.Name.Span, out var repository))
            {
                throw RegistryException.NameUnknown(route.Name.ToString());
            }

            repository.ManifestsBySpan.TryGetValue(reference, out manifest);
        }
        else
        {
            if (!TagName.IsValid(reference))
            {
                throw RegistryException.TagInvalid($"invalid tag '{route.Argument}'");
            }

            if (!store.TryGetRepository(route.Name.Span, out var repository))
            {
                throw RegistryException.NameUnknown(route.Name.ToString());
            }

            repository.TagsBySpan.TryGetValue(reference, out manifest);
        }

        return manifest ?? throw RegistryException.ManifestUnknown(route.Argument.ToString());
    }

    // Config and layers must be in the repository; layers that live elsewhere (non-distributable, with urls) need not.
    private static IEnumerable<Descriptor> RequiredBlobs(ParsedManifest manifest) =>
        (manifest.Config is { } config ? [config] : Array.Empty<Descriptor>())
            .Concat(manifest.Layers.Where(layer => !MediaTypes.IsNonDistributable(layer.MediaType)));

    // OCI spec: a manifest PUT fails with MANIFEST_BLOB_UNKNOWN (one error per missing blob or child manifest)
    // when it references content the repository does not have.
    private void CheckReferences(RepositoryState? repository, ParsedManifest manifest)
    {
        var errors = new List<RegistryError>();
        foreach (var blob in RequiredBlobs(manifest))
        {
            if (repository is null || !store.TryGetLinkedBlob(repository, blob.Digest, out _))
            {
                errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "blob unknown to registry", blob.Digest));
            }
        }

        foreach (var child in manifest.Manifests)
        {
            if (repository is null || !repository.Manifests.ContainsKey(child.Digest))
            {
                errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "manifest unknown to registry", child.Digest));
            }
        }

        if (errors.Count > 0)
        {
            throw new RegistryException(StatusCodes.Status400BadRequest, errors);
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

using System.Buffers;
using Berth.Core.Images;
using Berth.Registry.Errors;
using Berth.Registry.Http;
using Berth.Registry.Images;
using Berth.Registry.Notifications;
using Berth.Registry.Repositories;
using Berth.Registry.Routing;
using Berth.Registry.Storage;
using Berth.Registry.Storage.Caching;
using Berth.Registry.Storage.Index;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Berth.Registry.Manifests;

/// <summary><c>GET|HEAD|PUT|DELETE /v2/&lt;name&gt;/manifests/&lt;tag or digest&gt;</c>.</summary>
internal sealed class ManifestEndpoints(RegistryStore store, RepositoryCatalog repositories, PullRecorder pulls, PullEvents pullEvents, IOptions<RegistryOptions> options)
{
    private readonly int _maxManifestBytes = options.Value.MaxManifestBytes;
    private readonly SparseManifests _sparse = options.Value.SparseManifests;

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
        return body.IsCompletedSuccessfully
            ? WriteBodyAsync(context, route, manifest.RepositoryId, manifest.MediaType, body.Result)
            : AwaitBodyAsync(context, route, manifest.RepositoryId, manifest.MediaType, body);
    }

    private async Task AwaitBodyAsync(HttpContext context, RegistryRoute route, int repository, string mediaType, ValueTask<CachedManifest?> body) =>
        await WriteBodyAsync(context, route, repository, mediaType, await body);

    private Task WriteBodyAsync(HttpContext context, RegistryRoute route, int repository, string mediaType, CachedManifest? body)
    {
        // Null: deleted between the index lookup and the read.
        var manifest = body ?? throw RegistryException.ManifestUnknown(route.Argument.ToString());

        // A GET of the body is a pull (ECR's lastRecordedPullTime); a HEAD is not. Noted in memory, written in batches.
        pulls.Record(repository, manifest.Digest);
        if (pullEvents.Enabled)
        {
            // distribution's pull event names the tag when the manifest was asked for by one.
            var reference = route.Argument.Span;
            pullEvents.Manifest(context, route.Name.ToString(), manifest.Digest, mediaType, manifest.Content.Length, reference.Contains(':') ? null : reference.ToString());
        }

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
        var (expectedDigest, tags) = PushTarget(route.Argument.ToString(), context.Request.Query);

        var content = await ReadBodyAsync(context);
        var parsed = ManifestParser.Parse(content, context.Request.ContentType);
        // The digest is computed with the algorithm the client addressed the manifest by (sha512 stays sha512), so
        // the manifest is stored, served and referenced under the digest the client will ask for.
        var digest = Digest.Compute(content, expectedDigest?.Algorithm ?? Digest.Sha256);
        if (expectedDigest is { } expected && expected != digest)
        {
            throw RegistryException.DigestInvalid($"the manifest's digest is {digest}, the request says {expected}");
        }

        await repositories.EnsureForPushAsync(name, context.RequestAborted);
        var entry = await store.PutManifestAsync(
            name,
            new NewManifest(digest.ToString(), parsed.MediaType, parsed.ArtifactType, parsed.Subject?.Digest, content, StoredBlobReferences(parsed), [.. parsed.Manifests.Select(d => d.Digest)]),
            tags,
            references =>
            {
                repositories.CheckTagsMayMove(name, tags, digest.ToString());
                CheckReferences(references, parsed);
            },
            context.RequestAborted);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = RegistryHeaders.AbsoluteUrl(context.Request, $"/v2/{name}/manifests/{entry.Digest}");
        response.Headers[RegistryHeaders.ContentDigest] = entry.Digest;
        if (tags.Count > 0)
        {
            // OCI: one OCI-Tag per tag the push set, which is how a client learns the tag parameters were honoured.
            response.Headers[RegistryHeaders.Tag] = new StringValues([.. tags]);
        }

        if (parsed.Subject is { } subject)
        {
            // OCI 1.1: tells the client that this registry indexes referrers, so it need not push a fallback tag.
            response.Headers[RegistryHeaders.Subject] = subject.Digest;
        }

        response.ContentLength = 0;
    }

    /// <summary>
    /// What a manifest PUT names: by digest, the digest and the tags of its <c>tag</c> parameters (OCI); by tag, that
    /// tag and, when the client pins it with <c>?digest=</c>, the digest (and so the algorithm) it expects.
    /// </summary>
    private static (Digest? Expected, List<string> Tags) PushTarget(string reference, IQueryCollection query)
    {
        var tags = new List<string>();
        var tagParameters = query["tag"];
        if (reference.Contains(':', StringComparison.Ordinal))
        {
            var byDigest = Digest.TryParse(reference, out var d) ? d : throw RegistryException.DigestMalformed(reference.AsMemory());
            foreach (var tag in tagParameters)
            {
                if (!TagName.IsValid(tag))
                {
                    throw RegistryException.TagInvalid($"invalid tag parameter '{tag}'");
                }

                if (!tags.Contains(tag, StringComparer.Ordinal))
                {
                    tags.Add(tag);
                }
            }

            return (byDigest, tags);
        }

        if (!TagName.IsValid(reference))
        {
            throw RegistryException.TagInvalid($"invalid tag '{reference}'");
        }

        if (tagParameters.Count > 0)
        {
            throw RegistryException.TagInvalid($"tag parameters go with a push by digest; this push names its tag '{reference}' in the URL");
        }

        tags.Add(reference);
        var digestParameter = query["digest"];
        if (digestParameter.Count == 0)
        {
            return (null, tags);
        }

        // Not in the spec yet (distribution-spec #494 proposes it): a tagged push that keeps a non-canonical digest.
        var pinned = digestParameter.ToString();
        return (Digest.TryParse(pinned, out var p) ? p : throw RegistryException.DigestMalformed(pinned.AsMemory()), tags);
    }

    public async Task DeleteAsync(HttpContext context, RegistryRoute route)
    {
        var reference = route.Argument.Span;
        var isDigest = reference.Contains(':');
        if (isDigest && !Digest.IsValid(reference))
        {
            throw RegistryException.DigestMalformed(route.Argument);
        }

        // A reference that is not a valid tag names nothing that can exist: not found, like any unknown tag.
        if ((!isDigest && !TagName.IsValid(reference)) || !store.TryGetRepository(route.Name.Span, out var repository))
        {
            throw RegistryException.ManifestUnknown(route.Argument.ToString());
        }

        var key = route.Argument.ToString();
        var name = route.Name.ToString();
        if (isDigest)
        {
            await repositories.CheckManifestMayBeDeletedAsync(name, key, context.RequestAborted);
        }
        else if (store.TryGetManifest(repository, key, out _))
        {
            repositories.CheckTagMayBeDeleted(name, key);
        }

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
            // OCI: a reference is a digest or a tag and nothing else, and what is not found is a 404: a string that is
            // not a valid tag (".INVALID_MANIFEST_NAME") is an unknown manifest, not a bad request.
            throw RegistryException.ManifestUnknown(route.Argument.ToString());
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

    // The manifest -> blob references (for GC and quotas). A sparse image manifest may name blobs the registry has
    // never seen; the store keeps only the references to blobs the repository links, since a reference row points at
    // a stored blob.
    private static List<string> StoredBlobReferences(ParsedManifest manifest) =>
        RequiredBlobs(manifest).Select(d => d.Digest).Distinct(StringComparer.Ordinal).ToList();

    // OCI spec: a manifest PUT fails with MANIFEST_BLOB_UNKNOWN (one error per missing blob or child manifest)
    // when it references content the repository does not have, unless the registry accepts sparse manifests. A
    // descriptor whose size is not the stored content's is MANIFEST_INVALID, sparse or not: a client that trusted it
    // would read a truncated or overlong blob.
    private void CheckReferences(ManifestReferences references, ParsedManifest manifest)
    {
        var errors = new List<RegistryError>();
        foreach (var (where, blob) in RequiredBlobsWithPlaces(manifest))
        {
            if (!references.TryGetBlobSize(blob.Digest, out var size))
            {
                if (_sparse != SparseManifests.All)
                {
                    errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "blob unknown to registry", blob.Digest));
                }
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
                if (_sparse == SparseManifests.None)
                {
                    errors.Add(new RegistryError(ErrorCodes.ManifestBlobUnknown, "manifest unknown to registry", child.Digest));
                }
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
